package fal

import (
	"strings"
	"time"

	"github.com/falgo/fal/internal/engine"
	"github.com/falgo/fal/internal/falerr"
)

// RequestOption configures one call: Run, Submit, Subscribe, Stream, the
// queue calls, uploads and downloads. Every Option is a RequestOption too.
// The options made for one kind of call are refused, with an error that
// says where they apply, by calls they mean nothing to: WithPriority on
// Run, say, or WithFileName on Run (name a file input with FileBytes).
type RequestOption interface {
	applyRequest(*call) error
}

// callKind names a kind of call, for options to check where they apply.
type callKind uint16

const (
	callRun callKind = 1 << iota
	callSubmit
	callSubscribe
	callStream
	callStatus
	callResult
	callCancel
	callEvents
	callHandle
	callUpload
	callDownload
	callToken
)

// Groups of calls that options apply to.
const (
	// callsWithInput send an app input: its files are uploaded first.
	callsWithInput = callRun | callSubmit | callSubscribe | callStream
	// callsStartingJob are the queue calls that put a job in the queue.
	callsQueueing = callSubmit | callSubscribe
	// callsFollowing wait for a queued request; Submit and Handle take
	// these options as defaults for the handle they return.
	callsFollowing = callEvents | callResult | callSubscribe | callSubmit | callHandle
)

var callNames = []string{"Run", "Submit", "Subscribe", "Stream", "Status", "Result", "Cancel", "Events", "Handle", "Upload", "Download", "RealtimeToken"}

// String lists the calls of k, e.g. "Submit and Subscribe".
func (k callKind) String() string {
	var names []string
	for i, n := range callNames {
		if k&(1<<i) != 0 {
			names = append(names, n)
		}
	}
	switch len(names) {
	case 0:
		return "no call"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// settings are what RequestOptions set: how one request is made and
// followed, beyond how the client reaches fal.
type settings struct {
	// job is nil for the defaults, as most calls have them; options
	// replace it, never change it, since copies of settings share it.
	job *jobSettings

	logs    bool // WithLogs
	polling bool // WithPolling

	pollInterval  time.Duration // WithPolling; 0: defaultPollInterval
	clientTimeout time.Duration // WithClientTimeout
	onEnqueue     func(requestID string)
	onQueueUpdate func(Status)

	streamIdle time.Duration // WithStreamIdleTimeout

	// upload is nil for the defaults; shared as job is.
	upload *uploadSettings

	// Set by tests only: the idle bound of the status stream (0 for
	// statusStreamIdle) and of the cancel after a timed-out Subscribe (0
	// for cancelGrace).
	statusIdle, cancelGrace time.Duration
}

// jobSettings shape the request a job is run or submitted with (its URL,
// query and headers), and nothing after it: a waiting Subscribe keeps its
// settings for the job's life, thousands at once, and these stay out of
// them unless an option set one.
type jobSettings struct {
	path         string        // WithPath
	hint         *string       // WithHint
	startTimeout time.Duration // WithStartTimeout
	priority     Priority      // WithPriority
	webhook      string        // WithWebhook

	// fal's request controls
	tags       string // WithTags, as the header value
	maxQueue   int    // WithMaxQueueLength; 0 for none
	method     string // WithMethod; "" for POST
	noStore    bool   // WithoutPayloadStorage
	noRetry    bool   // WithoutServerRetries
	noFallback bool   // WithoutFallback
}

// jobs returns the job settings.
func (s *settings) jobs() jobSettings { return valueOf(s.job) }

// setJob replaces the job settings with a copy that change has changed.
func (s *settings) setJob(change func(*jobSettings)) { s.job = changed(s.job, change) }

// uploads returns the storage settings.
func (s *settings) uploads() uploadSettings { return valueOf(s.upload) }

// setUpload replaces the storage settings with a copy that change has
// changed.
func (s *settings) setUpload(change func(*uploadSettings)) { s.upload = changed(s.upload, change) }

// valueOf is *p, or the zero value for nil.
func valueOf[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// changed returns a changed copy of *p (of the zero value for nil),
// leaving *p as it is for the copies of settings that share it.
func changed[T any](p *T, change func(*T)) *T {
	v := valueOf(p)
	change(&v)
	return &v
}

// call is the configuration of one call: the engine settings (the
// client's, or a copy of them once an Option changed one) and the request
// settings.
type call struct {
	kind callKind
	own  bool // eng is this call's own copy
	eng  *engine.Config
	s    settings
}

// engineToChange returns the call's own copy of the engine settings.
func (cl *call) engineToChange() *engine.Config {
	if !cl.own {
		cl.eng, cl.own = cl.eng.Clone(), true
	}
	return cl.eng
}

// newCall applies opts to a call of kind that starts from eng and s.
func newCall(kind callKind, eng *engine.Config, s settings, opts []RequestOption) (*call, error) {
	cl := &call{kind: kind, eng: eng, s: s}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyRequest(cl); err != nil {
			return nil, err
		}
	}
	if cl.own {
		if err := prepare(cl.eng); err != nil {
			return nil, err
		}
	}
	return cl, nil
}

// requestOption is the RequestOption of the request-specific constructors:
// it applies to the calls in where and is refused by the others.
type requestOption struct {
	name  string
	where callKind
	set   func(*settings) error
}

func (o requestOption) applyRequest(cl *call) error {
	if cl.kind&o.where == 0 {
		return falerr.New("%s does not apply to %s; it applies to %s", o.name, cl.kind, o.where)
	}
	return o.set(&cl.s)
}
