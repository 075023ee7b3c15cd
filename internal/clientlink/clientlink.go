// Package clientlink lets falgo's packages built on a *fal.Client (package
// platform) reach the client's request engine settings, which package fal
// keeps unexported. Package fal sets Engine when it is initialised, before
// any package that imports it runs.
package clientlink

import "github.com/falgo/fal/internal/engine"

// Engine returns the engine settings of client, a *fal.Client, or an error
// when it is nil or was not built with fal.NewClient.
var Engine func(client any) (*engine.Config, error)
