//go:build !unix

package fal

import "os"

// openNoWait opens path for reading. These systems have no O_NONBLOCK
// open; readCredentialFile refuses anything that is not a regular file
// before it gets here.
func openNoWait(path string) (*os.File, error) { return os.Open(path) }
