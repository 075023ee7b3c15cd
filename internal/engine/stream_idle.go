package engine

import (
	"sync"
	"time"
)

// idleWatch cuts the open streams that stayed silent too long. One timer
// serves every stream of the process that has an idle bound, instead of a
// timer each: a status stream is open for its whole job, and thousands of
// them wait at once. The timer runs only while such streams are open.
//
// A stream silent for its idle bound is cut at the next sweep: sweeps come
// every eighth of the shortest bound open (at most a second apart), so a
// stream is cut between idle and idle + min(idle/8, 1 s).
type idleWatch struct {
	mu      sync.Mutex
	streams map[*Stream]struct{}
	timer   *time.Timer
	period  time.Duration
	now     func() time.Time // the clock; tests set it
}

// idleStreams is the process's watch.
var idleStreams idleWatch

// maxSweep is the longest pause between two sweeps.
const maxSweep = time.Second

// add watches s (s.idle > 0).
func (w *idleWatch) add(s *Stream) {
	period := min(max(s.idle/8, time.Millisecond), maxSweep)
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.streams == nil {
		w.streams = map[*Stream]struct{}{}
	}
	w.streams[s] = struct{}{}
	switch {
	case w.timer == nil:
		w.period = period
		w.timer = time.AfterFunc(period, w.sweep)
	case period < w.period:
		w.period = period
		w.timer.Reset(period)
	}
}

// remove stops watching s.
func (w *idleWatch) remove(s *Stream) {
	w.mu.Lock()
	delete(w.streams, s)
	w.mu.Unlock()
}

// sweep cuts the streams silent for their idle bound, and sets the timer
// for the next sweep while streams are left.
func (w *idleWatch) sweep() {
	now := time.Now()
	if w.now != nil {
		now = w.now()
	}
	var cut []*Stream
	w.mu.Lock()
	for s := range w.streams {
		if s.silence(now) >= s.idle {
			cut = append(cut, s)
			delete(w.streams, s)
		}
	}
	if len(w.streams) > 0 {
		if w.timer != nil {
			w.timer.Reset(w.period)
		}
	} else {
		// Nothing left: the timer stops, and the map goes (a map keeps the
		// size of the biggest burst it held, for the process's life).
		if w.timer != nil {
			w.timer.Stop()
		}
		w.streams, w.timer, w.period = nil, nil, 0
	}
	w.mu.Unlock()
	for _, s := range cut {
		s.cutIdle()
	}
}

// silence is how long the stream has gone without a Touch at now.
func (s *Stream) silence(now time.Time) time.Duration {
	return time.Duration(sinceOrigin(now) - s.touch.Load())
}

// clockOrigin is what a stream's Touch times are counted from: one
// monotonic origin for the process, rather than a time.Time in every
// stream (thousands wait at once).
var clockOrigin = time.Now()

// sinceOrigin is t in ns since clockOrigin (monotonic).
func sinceOrigin(t time.Time) int64 { return int64(t.Sub(clockOrigin)) }

// cutIdle ends a stream that stayed silent too long (a stream closed
// meanwhile has ended already, and stays as it is).
func (s *Stream) cutIdle() { s.ctx.cancel(errIdle) }
