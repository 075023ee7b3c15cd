package main

import (
	"fmt"
	"strings"
	"sync"
	"time"

	fal "github.com/falgo/fal"
)

// progress reports on stderr what a request is doing while a command waits
// for it: its id once submitted, its queue position, then the elapsed time
// and the app's log lines.
//
// On a terminal the state is one animated status line (spinner, state,
// elapsed time) with the log lines scrolling above it. Otherwise each
// change is one plain line, so a log file or a CI console shows the same
// story without carriage returns or escape codes.
//
// The status line is drawn by this file rather than with progressbar,
// which falgo uses for upload and batch: a request's progress has no known
// end to measure, and its log lines must be printed above the line while
// it keeps animating, which progressbar's own render loop does not allow.
type progress struct {
	con   *console
	quiet bool
	app   string
	start time.Time

	mu        sync.Mutex
	state     string // what the status line says, e.g. "queued, position 2"
	requestID string
	position  int // last queue position reported, -1 for none
	running   bool
	finished  bool
	frame     int // spinner frame

	// A reattached request (falgo result) began before falgo followed it:
	// start moves back to its own start when known (from fal's request
	// history or its first log line), and one found already complete
	// reports the time it took, not the moment falgo spent fetching it.
	hideLogs      bool // the logs go elsewhere (status --watch --logs prints them as JSON)
	reattached    bool
	startKnown    bool
	end           time.Time // when it ended, for one complete on arrival
	seen          bool      // a status has arrived
	doneOnArrival bool      // the first status was Completed

	stop chan struct{} // closed by finish to end the animation
	done chan struct{} // closed when the animation has ended
}

// spinnerFrames animate the status line.
var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// spinnerTick is how often the status line is redrawn.
const spinnerTick = 100 * time.Millisecond

// newProgress starts reporting on a request to app in the given initial
// state ("submitting", "running"). A quiet progress reports nothing.
func newProgress(con *console, app, state string, quiet bool) *progress {
	p := &progress{con: con, quiet: quiet, app: app, start: time.Now(), state: state, position: -1}
	if quiet || !con.stderrTTY {
		return p
	}
	p.stop = make(chan struct{})
	p.done = make(chan struct{})
	p.draw(false)
	go p.animate()
	return p
}

// animate redraws the status line until finish.
func (p *progress) animate() {
	defer close(p.done)
	t := time.NewTicker(spinnerTick)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.draw(true)
		}
	}
}

// draw shows the status line, with the spinner's next frame if advance.
func (p *progress) draw(advance bool) {
	p.mu.Lock()
	if advance {
		p.frame++
	}
	line := sprintf("%s %s %s %s",
		p.con.paint(ansiCyan, spinnerFrames[p.frame%len(spinnerFrames)]),
		p.app, p.state, p.con.paint(ansiDim, formatElapsed(time.Since(p.start))))
	finished := p.finished
	p.mu.Unlock()
	if !finished {
		p.con.setStatus(line)
	}
}

// setState changes what the status line says.
func (p *progress) setState(s string) {
	p.mu.Lock()
	p.state = s
	p.mu.Unlock()
	if p.stop != nil {
		p.draw(false)
	}
}

// submitted reports the request id the queue assigned.
func (p *progress) submitted(requestID string) {
	p.mu.Lock()
	p.requestID = requestID
	p.mu.Unlock()
	p.setState("queued")
	if p.quiet {
		return
	}
	p.con.errorf("%s", p.con.paint(ansiDim, "falgo: request "+requestID+" queued ("+p.app+")"))
}

// reattach marks the request as begun before falgo followed it, at
// start and (if it has ended) ended at end; zero times are unknown.
func (p *progress) reattach(start, end time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.reattached = true
	if !start.IsZero() && (!p.startKnown || start.Before(p.start)) {
		p.start, p.startKnown = start, true
	}
	if !end.IsZero() {
		p.end = end
	}
}

// observe notes what a status tells about the request's own times: the
// first status says whether it was complete on arrival, log timestamps
// when it ran.
func (p *progress) observe(st fal.Status, logs []fal.Log) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen {
		p.seen = true
		_, p.doneOnArrival = st.(fal.Completed)
	}
	if !p.reattached {
		return
	}
	for _, l := range logs {
		if l.Timestamp.IsZero() {
			continue
		}
		if l.Timestamp.Before(p.start) {
			p.start, p.startKnown = l.Timestamp, true
		}
		if p.doneOnArrival && l.Timestamp.After(p.end) {
			p.end = l.Timestamp
		}
	}
}

// update reports a status from the queue, and the log lines it carries.
func (p *progress) update(st fal.Status) {
	switch s := st.(type) {
	case fal.InProgress:
		p.observe(st, s.Logs)
	case fal.Completed:
		p.observe(st, s.Logs)
	default:
		p.observe(st, nil)
	}
	switch s := st.(type) {
	case fal.Queued:
		p.mu.Lock()
		changed := p.position != s.Position
		p.position = s.Position
		p.mu.Unlock()
		p.setState(fmt.Sprintf("queued, position %d", s.Position))
		if changed && !p.quiet && !p.con.stderrTTY {
			p.con.errorf("falgo: in queue at position %d", s.Position)
		}
	case fal.InProgress:
		p.enterRunning()
		p.logs(s.Logs)
	case fal.Completed:
		// A request found cancelled or failed is not said to be
		// "running": the line after says how it ended.
		if !s.Failed() {
			p.enterRunning()
		}
		p.logs(s.Logs)
	}
}

// enterRunning switches to the running state, once.
func (p *progress) enterRunning() {
	p.mu.Lock()
	first := !p.running
	p.running = true
	p.mu.Unlock()
	if !first {
		return
	}
	p.setState("running")
	if !p.quiet && !p.con.stderrTTY {
		p.con.errorf("falgo: running")
	}
}

// logs prints the app's log lines.
func (p *progress) logs(logs []fal.Log) {
	if p.quiet || p.hideLogs {
		return
	}
	for _, l := range logs {
		p.con.errorf("%s", p.formatLog(l))
	}
}

// formatLog renders one log line: "[LEVEL] message", coloured by level on
// a terminal. The level and the message are the app's: paint escapes every
// control character in them, newlines and tabs included, since each log
// line is printed as one line.
func (p *progress) formatLog(l fal.Log) painted {
	level := strings.ToUpper(l.Level)
	if level == "" {
		level = "INFO"
	}
	msg := strings.TrimRight(l.Message, "\r\n")
	code := ansiDim
	switch level {
	case "ERROR", "STDERR":
		code = ansiRed
	case "WARN", "WARNING":
		code = ansiYellow
	}
	return p.con.paint(code, "["+level+"] "+msg)
}

// finish ends the report: the status line goes away and one line says how
// it ended (err nil for success). It is safe to call more than once.
func (p *progress) finish(err error) {
	p.mu.Lock()
	if p.finished {
		p.mu.Unlock()
		return
	}
	p.finished = true
	p.mu.Unlock()
	if p.stop != nil {
		close(p.stop)
		<-p.done
		p.con.clearStatus()
	}
	if p.quiet {
		return
	}
	took, ended := p.took()
	switch {
	case err == nil && p.con.stderrTTY:
		p.con.errorf("%s %s done %s", p.con.paint(ansiGreen, "✓"), p.app, took)
	case err == nil:
		p.con.errorf("falgo: completed %s", took)
	case p.con.stderrTTY && ended:
		p.con.errorf("%s %s had ended before falgo reattached", p.con.paint(ansiRed, "✗"), p.app)
	case p.con.stderrTTY:
		p.con.errorf("%s %s stopped after %s", p.con.paint(ansiRed, "✗"), p.app, took)
	}
	// Without a terminal the error line that follows says it all.
}

// took says how long the request took ("in 2.5s"): from its start (its
// own when reattached and known) to now, or to its end when it had ended
// before falgo reattached.
// It also reports whether the request had ended before falgo reattached.
func (p *progress) took() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.reattached || !p.doneOnArrival {
		return "in " + formatElapsed(time.Since(p.start)), false
	}
	if p.startKnown && !p.end.IsZero() && !p.end.Before(p.start) {
		return "in " + formatElapsed(p.end.Sub(p.start)) + " (it had finished before falgo reattached)", true
	}
	return "before falgo reattached (how long it took is unknown)", true
}

// formatElapsed renders a duration for people: 0.04s, 2.5s, 12s, 3m05s,
// 1h02m.
func formatElapsed(d time.Duration) string {
	switch {
	case d < time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
