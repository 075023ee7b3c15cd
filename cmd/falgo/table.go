package main

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The Platform API commands (models, schema, price, estimate, usage,
// requests, credits) print a table when stdout is a terminal and JSON
// otherwise, or with --json: people read the table, scripts parse the
// JSON. Every cell of a table is server text until proven otherwise, so
// table escapes each one (escapeControls, inline form) before measuring
// it.

// wantTable reports whether a command prints a table rather than JSON:
// stdout is a terminal and --json was not given.
func (c *cli) wantTable() bool {
	return c.con.stdoutTTY && !c.g.json
}

// printJSON prints v as JSON on stdout: indented on a terminal, one line
// otherwise or with --json, control characters escaped.
func (c *cli) printJSON(v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return err
	}
	return c.con.writeJSON(b, c.g.json)
}

// table is rows of cells under a header, printed with aligned columns.
type table struct {
	header []string
	rows   [][]string
	// clip bounds the width of columns, by index: longer cells are cut
	// with "…" (descriptions, payloads).
	clip map[int]int
	// right aligns columns to the right, by index (numbers, money).
	right map[int]bool
}

// newTable starts a table with these column names.
func newTable(header ...string) *table {
	return &table{header: header, clip: map[int]int{}, right: map[int]bool{}}
}

// add appends a row; missing cells are empty.
func (t *table) add(cells ...string) {
	t.rows = append(t.rows, cells)
}

// write prints the table: every cell escaped, columns two spaces apart,
// trailing spaces trimmed.
func (t *table) write(w io.Writer) error {
	all := append([][]string{t.header}, t.rows...)
	cells := make([][]string, len(all))
	widths := make([]int, len(t.header))
	for i, row := range all {
		cells[i] = make([]string, len(t.header))
		for j := range t.header {
			s := ""
			if j < len(row) {
				s = escapeControls(row[j], inline)
			}
			if n, ok := t.clip[j]; ok && i > 0 {
				s = clipRunes(s, n)
			}
			cells[i][j] = s
			widths[j] = max(widths[j], utf8.RuneCountInString(s))
		}
	}
	var b strings.Builder
	for _, row := range cells {
		var line strings.Builder
		for j, s := range row {
			if j > 0 {
				line.WriteString("  ")
			}
			pad := strings.Repeat(" ", widths[j]-utf8.RuneCountInString(s))
			if t.right[j] {
				line.WriteString(pad + s)
			} else {
				line.WriteString(s + pad)
			}
		}
		b.WriteString(strings.TrimRight(line.String(), " "))
		b.WriteByte('\n')
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// printTable prints t on stdout.
func (c *cli) printTable(t *table) error {
	return t.write(c.con.stdout)
}

// printText prints lines of falgo's own text with server text in them on
// stdout (a table's title, a note under it): every argument is escaped.
func (c *cli) printText(format string, args ...any) error {
	if _, err := io.WriteString(c.con.stdout, string(sprintf(format, args...))+"\n"); err != nil {
		return fmt.Errorf("writing to stdout: %w", err)
	}
	return nil
}

// clipRunes shortens s to at most n runes, ending in "…" when cut.
func clipRunes(s string, n int) string {
	if n <= 1 || utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i < len(s) && count < n-1 {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		count++
	}
	return s[:i] + "…"
}

// oneLineText folds server text onto one line for a table cell.
func oneLineText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
