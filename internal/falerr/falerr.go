// Package falerr builds falgo's error messages so that a chain of wrapped
// errors reads as one line with one "fal: " prefix:
//
//	fal: uploading input file x.bin: POST https://v3.fal.media/files/upload: 500 Internal Server Error
//
// Every error falgo returns starts with the prefix; an error that wraps
// another one drops the prefix of its cause instead of repeating it.
package falerr

import (
	"fmt"
	"strings"
)

// Prefix starts every error message of falgo.
const Prefix = "fal: "

// New returns an error reading "fal: " + the formatted message. Like
// fmt.Errorf, a %w verb wraps its operand; prefer Wrap, which also keeps
// the chain to one prefix.
func New(format string, args ...any) error {
	return fmt.Errorf(Prefix+format, args...)
}

// Wrap returns an error reading "fal: <context>: <cause>", where the cause's
// own "fal: " prefix, if any, is dropped. It unwraps to cause. A nil cause
// gives nil.
func Wrap(cause error, format string, args ...any) error {
	if cause == nil {
		return nil
	}
	return &wrapped{msg: fmt.Sprintf(format, args...), cause: cause}
}

// wrapped is an error with context in front of its cause.
type wrapped struct {
	msg   string
	cause error
}

func (e *wrapped) Error() string { return Prefix + e.msg + ": " + Trim(e.cause.Error()) }

func (e *wrapped) Unwrap() error { return e.cause }

// Trim drops a leading "fal: " from an error message.
func Trim(msg string) string { return strings.TrimPrefix(msg, Prefix) }
