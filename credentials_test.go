package fal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestCredentialSecretsNeverPrinted sets recognisable secrets in every
// source, produces every error and report this part of the package makes,
// and prints them with every verb.
func TestCredentialSecretsNeverPrinted(t *testing.T) {
	home := credClearEnv(t)
	access := credJWT(t, time.Now().Add(-time.Hour), "ACCESSTOKEN")
	secrets := []string{credTestKey, credTestKeyID, credTestSecret, credTestRefresh, access,
		"TESTKEY", "TESTID", "TESTSECRET", "TESTREFRESH", "ACCESSTOKEN", "FRESHTOKEN"}
	fresh := credJWT(t, time.Now().Add(time.Hour), "FRESHTOKEN")
	// A hostile token endpoint echoes the refresh token in its errors.
	var failing atomic.Bool
	failing.Store(true)
	newCredTokenServer(t, func(w http.ResponseWriter, n int) {
		if failing.Load() {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"` + credTestRefresh + `","error_description":"` + credTestRefresh + `"}`))
			return
		}
		credTokenReply(w, fresh, credTestRefresh+"-2")
	})
	credWriteToken(t, home, credTestRefresh+"\n"+access)

	var outputs []string
	add := func(vs ...any) {
		for _, v := range vs {
			for _, f := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
				outputs = append(outputs, fmt.Sprintf(f, v))
			}
		}
	}
	addErr := func(err error) {
		if err == nil {
			t.Fatal("expected an error")
		}
		outputs = append(outputs, err.Error())
		add(err)
		var me *MissingCredentialsError
		if errors.As(err, &me) {
			add(*me, me.Sources)
		}
	}
	ctx := context.Background()

	// Failures: refresh rejected, half pair, too-open and multi-line key
	// files, forced login, key-only lookup, Colab.
	t.Setenv("FAL_KEY_SECRET", credTestSecret)
	t.Setenv("COLAB_RELEASE_TAG", "release-colab")
	cli := &cliToken{}
	_, err := cli.Credentials(ctx)
	addErr(err)
	chain := DefaultCredentialsChain()
	_, err = chain.Credentials(ctx)
	addErr(err)
	t.Setenv("FAL_KEY_FILE", credKeyFile(t, credTestKey, 0o644))
	_, err = chain.Credentials(ctx)
	addErr(err)
	t.Setenv("FAL_KEY_FILE", credKeyFile(t, credTestKey+"\n"+credTestSecret, 0o600))
	_, err = chain.Credentials(ctx)
	addErr(err)
	_, err = FetchCredentials()
	addErr(err)
	t.Setenv("FAL_FORCE_AUTH_BY_USER", "1")
	t.Setenv("FAL_KEY", credTestKey)
	_, err = DefaultCredentialsChain().Credentials(ctx)
	addErr(err)
	rep := InspectCredentials(ctx)
	add(rep, rep.String())
	t.Setenv("FAL_FORCE_AUTH_BY_USER", "")

	// Successes, with the secrets cached inside the providers.
	t.Setenv("FAL_KEY_ID", credTestKeyID)
	t.Setenv("FAL_KEY_FILE", credKeyFile(t, credTestKey, 0o600))
	if c, err := chain.Credentials(ctx); err != nil || c.Token != credTestKey {
		t.Fatalf("chain: %v, %v", c, err)
	}
	failing.Store(false)
	if c, err := cli.Credentials(ctx); err != nil || c.Token != fresh {
		t.Fatalf("login: %v, %v", c, err)
	}
	rep = InspectCredentials(ctx)
	// The login provider is reached only through a chain (it is not
	// exported): print a chain that holds it, logged in.
	add(chain, &defaultChain{cli: cli}, rep, rep.String(), rep.Sources)
	if rep.Winner != srcFalKey || len(rep.Sources) != 5 {
		t.Fatalf("report does not cover every source:\n%s", rep)
	}

	if len(outputs) < 50 {
		t.Fatalf("only %d outputs checked", len(outputs))
	}
	for _, o := range outputs {
		for _, s := range secrets {
			if strings.Contains(o, s) {
				t.Errorf("output contains %q:\n%s", s, o)
			}
		}
	}
}

func TestCredentialsFormatting(t *testing.T) {
	t.Parallel()
	c := Credentials{Scheme: "Bearer", Token: "tok-ABCDEFGHIJ"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("creds", "c", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%+v %#v %s %q %x %d", c, c, c, c, c, c), c.String(), c.GoString(), logged.String()} {
		if strings.Contains(s, "ABCDEFGHIJ") {
			t.Errorf("token printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(c), "Bearer") || !strings.Contains(fmt.Sprint(c), "14 chars") {
		t.Errorf("String() = %q, want the scheme and the token's length", fmt.Sprint(c))
	}
}
