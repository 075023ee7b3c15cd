package fal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func TestKeyFileRefused(t *testing.T) {
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		contain string
		unixOK  bool // needs Unix permission bits
	}{
		{"group readable", func(t *testing.T) string { return credKeyFile(t, credTestKey, 0o640) }, "accessible by group or others (mode 0640)", true},
		{"world readable", func(t *testing.T) string { return credKeyFile(t, credTestKey, 0o604) }, "run chmod 600", true},
		{"missing", func(t *testing.T) string { return filepath.Join(t.TempDir(), "absent.key") }, "cannot read the key file", false},
		{"world writable", func(t *testing.T) string { return credKeyFile(t, credTestKey, 0o666) }, "accessible by group or others (mode 0666)", true},
		{"0644", func(t *testing.T) string { return credKeyFile(t, credTestKey, 0o644) }, "refusing to use an API key others can read or change: run chmod 600 /", true},
		{"a directory", func(t *testing.T) string { return t.TempDir() }, "is a directory, not a regular file; FAL_KEY_FILE must name a regular file", false},
		{"empty", func(t *testing.T) string { return credKeyFile(t, " \n\t\n", 0o600) }, "is empty", false},
		{"two lines", func(t *testing.T) string { return credKeyFile(t, credTestKey+"\nsecond", 0o600) }, "more than one line", false},
		{"too large", func(t *testing.T) string {
			return credKeyFile(t, strings.Repeat("k", maxKeyFileSize+1), 0o600)
		}, "larger than", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.unixOK && runtime.GOOS == "windows" {
				t.Skip("no Unix permission bits on Windows")
			}
			home := credClearEnv(t)
			// A valid login exists: an unusable key file must not fall
			// through to it silently.
			credWriteToken(t, home, credTestRefresh+"\n"+credJWT(t, time.Now().Add(time.Hour), "valid"))
			t.Setenv("FAL_KEY_FILE", tc.path(t))
			_, err := DefaultCredentialsChain().Credentials(context.Background())
			var me *MissingCredentialsError
			if !errors.As(err, &me) || !errors.Is(err, ErrMissingCredentials) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			if s := me.Sources[2]; s.Name != srcKeyFile || s.State != SourceInvalid || !strings.Contains(s.Detail, tc.contain) {
				t.Errorf("key file source = %v, want invalid containing %q", s, tc.contain)
			}
			if s := me.Sources[3]; s.State != SourceSkipped {
				t.Errorf("login source = %v, want skipped after an unusable key file", s)
			}
			msg := err.Error()
			if !strings.Contains(msg, "no usable credentials") || strings.Contains(msg, credTestKey) {
				t.Errorf("message:\n%s", msg)
			}
		})
	}
}

func TestKeyFileTildeExpansion(t *testing.T) {
	credClearEnv(t)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("USERPROFILE", home)
	if err := os.WriteFile(filepath.Join(home, "fal.key"), []byte(credTestKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FAL_KEY_FILE", "~/fal.key")
	c, err := DefaultCredentialsChain().Credentials(context.Background())
	if err != nil || c.Token != credTestKey {
		t.Fatalf("%v, %v", c, err)
	}
}

func TestMalformedFalKeyStopsTheChain(t *testing.T) {
	credClearEnv(t)
	t.Setenv("FAL_KEY", "sk-TESTKEY abc\n123")
	t.Setenv("FAL_KEY_ID", credTestKeyID)
	t.Setenv("FAL_KEY_SECRET", credTestSecret)
	_, err := DefaultCredentialsChain().Credentials(context.Background())
	var me *MissingCredentialsError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v", err)
	}
	if me.Sources[0].State != SourceInvalid || me.Sources[1].State != SourceSkipped {
		t.Errorf("sources = %v", me.Sources)
	}
	if strings.Contains(err.Error(), "abc") {
		t.Errorf("message shows part of the key:\n%s", err)
	}
}
