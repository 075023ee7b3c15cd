package fal

import (
	"net/url"
	"sync"
	"sync/atomic"

	"github.com/falgo/fal/internal/appid"
	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// maxJobTargets bounds the job targets a client remembers; past it they
// are built afresh on every call.
const maxJobTargets = 512

// targetKey identifies where a job is started: the verb ("run", "submit",
// "stream"), the host (a per-call host option makes another), the app and
// the WithPath path.
type targetKey struct {
	verb string
	host *url.URL
	app  string
	path string
}

// jobTarget is a job's operation name ("run fal-ai/flux/dev", for errors
// and logs) and the URL it is POSTed to.
type jobTarget struct {
	op, url string
}

// jobTargets remembers the targets of the apps a client calls, so that a
// call does not validate the app id, join the URL and name the operation
// again. Reads take no lock: the map is replaced, never changed.
type jobTargets struct {
	m  atomic.Pointer[map[targetKey]jobTarget]
	mu sync.Mutex // serialises replacements
}

// target returns the target of k, building and remembering it the first
// time (an invalid app id is an error, and is not remembered).
func (t *jobTargets) target(k targetKey) (jobTarget, error) {
	if m := t.m.Load(); m != nil {
		if jt, ok := (*m)[k]; ok {
			return jt, nil
		}
	}
	op := k.verb + " " + k.app
	if err := appid.Validate(k.app); err != nil {
		return jobTarget{}, falerr.Wrap(err, "%s", op)
	}
	jt := jobTarget{op: op, url: engine.Join(k.host, k.app, k.path)}
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.m.Load()
	if old != nil && len(*old) >= maxJobTargets {
		return jt, nil
	}
	next := make(map[targetKey]jobTarget, 1+lenOf(old))
	if old != nil {
		for key, v := range *old {
			next[key] = v
		}
	}
	next[k] = jt
	t.m.Store(&next)
	return jt, nil
}

func lenOf(m *map[targetKey]jobTarget) int {
	if m == nil {
		return 0
	}
	return len(*m)
}
