//go:build !race

package fal

// raceEnabled reports whether the race detector is on (allocation counts
// differ under it).
const raceEnabled = false
