package openapi

import (
	"strings"
	"unicode/utf8"

	"github.com/falgo/fal/internal/editdist"
)

// suggest returns the candidate closest to given when it is close enough
// to be what was meant, else "". Names are compared case-insensitively and
// with "_", "-", " " and "." removed first, so numImages finds num_images
// and Square-HD finds square_hd; otherwise the edit distance (insertions,
// deletions, substitutions and swaps of neighbours) must be at most 1 for
// names of up to 4 characters, 2 up to 8, and 3 beyond. Ties go to the
// earlier candidate.
func suggest(given string, candidates []string) string {
	if given == "" || len(candidates) == 0 || utf8.RuneCountInString(given) > 256 {
		return ""
	}
	g := fold(given)
	for _, c := range candidates {
		if c != given && fold(c) == g {
			return c
		}
	}
	best, bestD := "", -1
	for _, c := range candidates {
		if c == given || utf8.RuneCountInString(c) > 256 {
			continue
		}
		fc := fold(c)
		d := editdist.Distance(g, fc)
		if d > allowed(g, fc) {
			continue
		}
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// allowed is the largest edit distance still counted as a misspelling.
func allowed(a, b string) int {
	n := utf8.RuneCountInString(a)
	if m := utf8.RuneCountInString(b); m < n {
		n = m
	}
	switch {
	case n <= 2:
		return 0
	case n <= 4:
		return 1
	case n <= 8:
		return 2
	}
	return 3
}

func fold(s string) string {
	s = strings.ToLower(s)
	return strings.Map(func(r rune) rune {
		switch r {
		case '_', '-', ' ', '.':
			return -1
		}
		return r
	}, s)
}
