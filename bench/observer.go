package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// observer learns when jobs finish on the server. For every request id a
// client announces, it opens its own connection to the request's status
// stream and notes the CLOCK_MONOTONIC time at which the COMPLETED event
// arrives: the moment the server announced the job done, give or take one
// loopback hop (tens of microseconds). A client's hand-off time is when it
// had the result minus that moment. The jobs sleep at least 100 ms on the
// server, so the observer is listening well before they finish; if its
// first event is already COMPLETED the sample is marked late and dropped.
type observer struct {
	url  string // queue base URL
	auth string
	hc   *http.Client

	wg   sync.WaitGroup
	mu   sync.Mutex
	done map[string]int64
	late map[string]bool
	errs []string
}

func newObserver(env serverEnv) *observer {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &observer{
		url: env.queue, auth: "Key " + env.key, hc: &http.Client{Transport: tr},
		done: map[string]int64{}, late: map[string]bool{},
	}
}

// watch starts watching request id.
func (o *observer) watch(ctx context.Context, id string) {
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		t, late, err := o.follow(ctx, id)
		o.mu.Lock()
		defer o.mu.Unlock()
		switch {
		case err != nil:
			o.errs = append(o.errs, id+": "+err.Error())
		case late:
			o.late[id] = true
		default:
			o.done[id] = t
		}
	}()
}

func (o *observer) follow(ctx context.Context, id string) (t int64, late bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, o.url+"/"+echoApp+"/requests/"+id+"/status/stream?logs=0", nil)
	if err != nil {
		return 0, false, err
	}
	req.Header.Set("Authorization", o.auth)
	res, err := o.hc.Do(req)
	if err != nil {
		return 0, false, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, false, errors.New("status stream answered " + res.Status)
	}
	br := bufio.NewReader(res.Body)
	first := true
	for {
		line, err := br.ReadSlice('\n')
		now := monoNow()
		if bytes.HasPrefix(line, []byte("data:")) {
			if bytes.Contains(line, completedMarker) {
				return now, first, nil
			}
			first = false
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if err == io.EOF {
				err = errors.New("status stream ended before COMPLETED")
			}
			return 0, false, err
		}
	}
}

// results waits for every watch to end and returns the completion times,
// the ids observed too late, and the errors.
func (o *observer) results() (map[string]int64, map[string]bool, []string) {
	o.wg.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done, o.late, o.errs
}
