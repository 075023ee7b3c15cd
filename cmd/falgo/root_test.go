package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestRootHelpListsLocal(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), nil, &stdout, &stderr); code != exitOK {
		t.Fatalf("falgo with no arguments: exit %d, want %d; stderr: %s", code, exitOK, stderr.String())
	}
	if !strings.Contains(stdout.String(), "local") {
		t.Errorf("help does not list the local command:\n%s", stdout.String())
	}
}

func TestRootUnknownCommandIsUsageError(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"nope"}, &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	first, _, _ := strings.Cut(stderr.String(), "\n")
	if !strings.HasPrefix(first, "falgo: ") || !strings.Contains(first, `"nope"`) {
		t.Errorf("first stderr line = %q, want a falgo error naming the command", first)
	}
	if _, rest, _ := strings.Cut(stderr.String(), "\n"); rest != "see `falgo --help`\n" {
		t.Errorf("a command-line error should be followed by one hint line, not the usage; stderr:\n%s", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want nothing", stdout.String())
	}
}
