package fal

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

// Names of the credential sources, in chain order (CredentialSource.Name).
const (
	srcFalKey  = "FAL_KEY"
	srcKeyPair = "FAL_KEY_ID/FAL_KEY_SECRET"
	srcKeyFile = "FAL_KEY_FILE"
	srcCLI     = "fal CLI login"
	srcColab   = "Google Colab"
)

const (
	detailForced  = "FAL_FORCE_AUTH_BY_USER=1"
	detailStopped = "not tried: an earlier source is set but unusable"
)

// DefaultCredentialsChain returns the provider a Client uses when it is
// given neither WithKey nor WithCredentials. It tries, in order:
//
//  1. FAL_KEY: "Key <FAL_KEY>";
//  2. FAL_KEY_ID and FAL_KEY_SECRET: "Key <id>:<secret>" (only one of them
//     set is reported as partial, and the chain goes on);
//  3. FAL_KEY_FILE: a file holding the key (trimmed), which must not be
//     accessible by group or others (checked where Unix permissions exist);
//  4. the fal CLI login (`fal auth login`): "Bearer <access token>",
//     refreshed whenever it nears expiry (see the package documentation);
//  5. Google Colab, detection only: a Go program cannot read Colab secrets,
//     so in Colab the error explains how to export FAL_KEY from the notebook.
//
// FAL_FORCE_AUTH_BY_USER=1 skips every key source: only the fal CLI login is
// tried. A key source that is set but unusable (a malformed FAL_KEY, a key
// file that is too open, unreadable or empty) stops the chain with an error
// rather than falling through to another identity. Empty variables count as
// unset; surrounding whitespace is trimmed.
//
// The environment is read when credentials are first asked for, and the
// source that wins is kept for the life of the returned provider; a failed
// lookup is not kept, so the next call looks again. When nothing is found the
// error is a *MissingCredentialsError (errors.Is ErrMissingCredentials)
// listing every source and why it gave nothing. Each call returns a new
// provider with its own cache; it is safe for concurrent use.
func DefaultCredentialsChain() CredentialsProvider {
	return &defaultChain{cli: &cliToken{}}
}

// newDefaultChain is what a Client without explicit credentials uses.
func newDefaultChain() CredentialsProvider { return DefaultCredentialsChain() }

// defaultChain is DefaultCredentialsChain's provider.
type defaultChain struct {
	cli *cliToken

	mu sync.Mutex
	// won is the source that gave credentials, kept behind a pointer so that
	// printing the struct never shows a key.
	won *chainWinner
}

type chainWinner struct {
	key Credentials // an API key; zero when the fal CLI login won
}

// Credentials returns the credentials of the first source that has them.
func (c *defaultChain) Credentials(ctx context.Context) (Credentials, error) {
	c.mu.Lock()
	w := c.won
	c.mu.Unlock()
	var cliSrc *CredentialSource
	if w != nil {
		if w.key.Token != "" {
			return w.key, nil
		}
		cr, src, err := c.cli.retrieve(ctx)
		if err != nil {
			return Credentials{}, err
		}
		if src.State == SourceFound {
			return cr, nil
		}
		// The login stopped working (its refresh failed): look at every
		// source again, so a FAL_KEY set since then is picked up.
		c.setWinner(w, nil)
		cliSrc = &src
	}
	return c.resolve(ctx, cliSrc)
}

// resolve walks the chain. cliSrc, when not nil, is the fal CLI login's
// outcome already known from this call.
func (c *defaultChain) resolve(ctx context.Context, cliSrc *CredentialSource) (Credentials, error) {
	env := lookupEnvKeys(false)
	if env.key != "" {
		cr := Credentials{Scheme: "Key", Token: env.key}
		c.setWinner(nil, &chainWinner{key: cr})
		return cr, nil
	}
	var cli CredentialSource
	switch {
	case env.stopped:
		cli = CredentialSource{Name: srcCLI, State: SourceSkipped, Detail: detailStopped}
	case cliSrc != nil:
		cli = *cliSrc
	default:
		cr, src, err := c.cli.retrieve(ctx)
		if err != nil {
			return Credentials{}, err
		}
		if src.State == SourceFound {
			c.setWinner(nil, &chainWinner{})
			return cr, nil
		}
		cli = src
	}
	return Credentials{}, &MissingCredentialsError{
		Sources:         append(env.sources, cli, chainColabSource(env)),
		Colab:           IsGoogleColab(),
		ColabEnterprise: isColabEnterprise(),
		ForceAuthByUser: env.force,
	}
}

// setWinner replaces old by w unless another call changed it meanwhile.
func (c *defaultChain) setWinner(old, w *chainWinner) {
	c.mu.Lock()
	if c.won == old {
		c.won = w
	}
	c.mu.Unlock()
}

// String names the chain's sources; it never shows a key.
func (c *defaultChain) String() string {
	return "fal.DefaultCredentialsChain(" + strings.Join([]string{srcFalKey, srcKeyPair, srcKeyFile, srcCLI, srcColab}, ", ") + ")"
}

// Format prints String for every verb.
func (c *defaultChain) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, c.String()) }

// chainColabSource is the Colab entry of an unsuccessful chain.
func chainColabSource(env envKeys) CredentialSource {
	switch {
	case env.force:
		return CredentialSource{Name: srcColab, State: SourceSkipped, Detail: detailForced}
	case env.stopped:
		return CredentialSource{Name: srcColab, State: SourceSkipped, Detail: detailStopped}
	}
	return colabSource()
}

// FetchCredentials returns the API key the environment provides (FAL_KEY,
// else "FAL_KEY_ID:FAL_KEY_SECRET", else the content of FAL_KEY_FILE), like
// the Python client's fetch_credentials. It accepts API keys only: with no
// key, or with FAL_FORCE_AUTH_BY_USER=1, it returns a *MissingCredentialsError
// saying key credentials were not found, even if a fal CLI login exists.
func FetchCredentials() (string, error) {
	env := lookupEnvKeys(false)
	if env.key == "" {
		return "", &MissingCredentialsError{
			Sources:         append(env.sources, chainColabSource(env)),
			Colab:           IsGoogleColab(),
			ColabEnterprise: isColabEnterprise(),
			ForceAuthByUser: env.force,
			KeyOnly:         true,
		}
	}
	return env.key, nil
}

// envKeys is the outcome of the environment's key sources.
type envKeys struct {
	key     string // the winning key; "" if none
	winner  string // its source's name
	sources []CredentialSource
	stopped bool // a source set but unusable ended the chain
	force   bool // FAL_FORCE_AUTH_BY_USER=1
}

// keySources are the environment's key sources in chain order.
var keySources = []struct {
	name   string
	lookup func() (string, CredentialSource)
}{
	{srcFalKey, lookupFalKey},
	{srcKeyPair, lookupKeyPair},
	{srcKeyFile, lookupKeyFile},
}

// lookupEnvKeys tries the key sources in order. Once one is found or is set
// but unusable, the others are skipped, unless all is true (for
// InspectCredentials), in which case they are looked at but cannot win.
func lookupEnvKeys(all bool) envKeys {
	r := envKeys{force: os.Getenv("FAL_FORCE_AUTH_BY_USER") == "1"}
	for _, ks := range keySources {
		decided := r.key != "" || r.stopped
		switch {
		case r.force:
			r.sources = append(r.sources, CredentialSource{Name: ks.name, State: SourceSkipped, Detail: detailForced})
			continue
		case r.stopped && !all:
			r.sources = append(r.sources, CredentialSource{Name: ks.name, State: SourceSkipped, Detail: detailStopped})
			continue
		case decided && !all:
			r.sources = append(r.sources, CredentialSource{Name: ks.name, State: SourceSkipped, Detail: "not tried: " + r.winner + " comes first"})
			continue
		}
		key, src := ks.lookup()
		r.sources = append(r.sources, src)
		if decided {
			continue
		}
		switch src.State {
		case SourceFound:
			r.key, r.winner = key, ks.name
		case SourceInvalid:
			r.stopped = true
		}
	}
	return r
}

func lookupFalKey() (string, CredentialSource) {
	k := strings.TrimSpace(os.Getenv("FAL_KEY"))
	switch {
	case k == "":
		return "", CredentialSource{Name: srcFalKey, State: SourceNotSet}
	case !validToken(k):
		return "", CredentialSource{Name: srcFalKey, State: SourceInvalid,
			Detail: "set, " + chars(k) + ", but contains whitespace or control characters"}
	}
	return k, CredentialSource{Name: srcFalKey, State: SourceFound, Detail: "set, " + chars(k)}
}

func lookupKeyPair() (string, CredentialSource) {
	id := strings.TrimSpace(os.Getenv("FAL_KEY_ID"))
	secret := strings.TrimSpace(os.Getenv("FAL_KEY_SECRET"))
	src := CredentialSource{Name: srcKeyPair}
	switch {
	case id == "" && secret == "":
		src.State = SourceNotSet
		return "", src
	case secret == "":
		src.State = SourcePartial
		src.Detail = "FAL_KEY_ID is set (" + chars(id) + ") but FAL_KEY_SECRET is not; set both or neither"
		return "", src
	case id == "":
		src.State = SourcePartial
		src.Detail = "FAL_KEY_SECRET is set (" + chars(secret) + ") but FAL_KEY_ID is not; set both or neither"
		return "", src
	case !validToken(id) || !validToken(secret):
		src.State = SourceInvalid
		src.Detail = "FAL_KEY_ID or FAL_KEY_SECRET contains whitespace or control characters"
		return "", src
	}
	src.State = SourceFound
	src.Detail = "set, FAL_KEY_ID " + chars(id) + ", FAL_KEY_SECRET " + chars(secret)
	return id + ":" + secret, src
}

// chars describes a secret by its length only.
func chars(secret string) string {
	if len(secret) == 1 {
		return "1 char"
	}
	return fmt.Sprintf("%d chars", len(secret))
}

func lookupKeyFile() (string, CredentialSource) {
	name := strings.TrimSpace(os.Getenv("FAL_KEY_FILE"))
	if name == "" {
		return "", CredentialSource{Name: srcKeyFile, State: SourceNotSet}
	}
	return readKeyFile(name)
}

// CredentialsReport is a diagnosis of the default credential chain, from
// InspectCredentials. It holds no secret: only states, lengths and paths.
type CredentialsReport struct {
	// Sources holds every source in chain order. Unlike the chain itself,
	// the report looks at sources after the winner too, so it shows
	// everything that is set.
	Sources []CredentialSource
	// Winner is the Name of the source the chain would use, "" if none.
	Winner string
	// Reason explains why Winner wins, or why nothing does.
	Reason string
	// ForceAuthByUser is true when FAL_FORCE_AUTH_BY_USER=1.
	ForceAuthByUser bool
	// Colab and ColabEnterprise report IsGoogleColab and Colab Enterprise.
	Colab, ColabEnterprise bool
}

// InspectCredentials looks at every source of the default credential chain
// and reports which are set, which one would win and why, and whether the
// process runs in Google Colab. It reads the environment and files but never
// contacts the network: an expiring fal CLI login is reported as to be
// refreshed on first use.
func InspectCredentials(ctx context.Context) CredentialsReport {
	env := lookupEnvKeys(true)
	rep := CredentialsReport{
		ForceAuthByUser: env.force,
		Colab:           IsGoogleColab(),
		ColabEnterprise: isColabEnterprise(),
	}
	cli := (&cliToken{}).inspect(ctx)
	rep.Sources = append(env.sources, cli, chainColabSource(envKeys{force: env.force}))
	switch {
	case env.key != "":
		rep.Winner = env.winner
		rep.Reason = env.winner + " is the first source that gives a key (order: FAL_KEY, FAL_KEY_ID/FAL_KEY_SECRET, FAL_KEY_FILE, fal CLI login)"
	case env.stopped:
		for _, s := range env.sources {
			if s.State == SourceInvalid {
				rep.Reason = s.Name + " is set but unusable, so requests fail with an error instead of falling through to another source"
				break
			}
		}
	case cli.State == SourceFound && env.force:
		rep.Winner = srcCLI
		rep.Reason = detailForced + " is set, so only the fal CLI login is used"
	case cli.State == SourceFound:
		rep.Winner = srcCLI
		rep.Reason = "no API key is set, so the fal CLI login is used"
	default:
		rep.Reason = "no source gives credentials; requests fail with ErrMissingCredentials"
	}
	return rep
}

// String renders the report as lines of text, for a terminal.
func (r CredentialsReport) String() string {
	var b strings.Builder
	b.WriteString("fal credentials, in the order they are tried:\n")
	for _, s := range r.Sources {
		mark := "  "
		if s.Name == r.Winner {
			mark = "* "
		}
		b.WriteString(mark + s.String() + "\n")
	}
	if r.Winner != "" {
		b.WriteString("Using: " + r.Winner + ": " + r.Reason + "\n")
	} else {
		b.WriteString("Using: nothing: " + r.Reason + "\n")
	}
	switch {
	case r.ColabEnterprise:
		b.WriteString("Colab: Colab Enterprise runtime detected\n")
	case r.Colab:
		b.WriteString("Colab: Google Colab runtime detected\n")
	default:
		b.WriteString("Colab: not detected\n")
	}
	return b.String()
}
