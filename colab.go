package fal

import (
	"os"
	"strings"
)

// colabPresenceVars indicate a Colab runtime when present, whatever their
// value (COLAB_GPU, for one, is present but empty on CPU runtimes).
var colabPresenceVars = []string{
	"COLAB_BACKEND_VERSION",
	"COLAB_JUPYTER_IP",
	"COLAB_KERNEL_MANAGER_PROXY_PORT",
	"COLAB_GPU",
}

// IsGoogleColab reports whether the process appears to run in a Google Colab
// runtime (including Colab Enterprise on Vertex AI), for example a Go
// program started from a notebook cell with `!go run .`.
//
// It is a heuristic based on the environment variables a Colab runtime sets
// and hands down to the programs a cell starts: COLAB_RELEASE_TAG non-empty,
// or any of COLAB_BACKEND_VERSION, COLAB_JUPYTER_IP,
// COLAB_KERNEL_MANAGER_PROXY_PORT or COLAB_GPU present, or
// VERTEX_PRODUCT=COLAB_ENTERPRISE. Anyone can set these, and a runtime
// driven by the VS Code extension or the colab CLI sets them too although
// its notebook secrets are not reachable there.
func IsGoogleColab() bool {
	_, ok := colabSignal()
	return ok
}

// colabSignal names the variable that made IsGoogleColab true.
func colabSignal() (string, bool) {
	if os.Getenv("COLAB_RELEASE_TAG") != "" {
		return "COLAB_RELEASE_TAG", true
	}
	for _, v := range colabPresenceVars {
		if _, ok := os.LookupEnv(v); ok {
			return v, true
		}
	}
	if isColabEnterprise() {
		return "VERTEX_PRODUCT=COLAB_ENTERPRISE", true
	}
	return "", false
}

// isColabEnterprise reports VERTEX_PRODUCT=COLAB_ENTERPRISE.
func isColabEnterprise() bool { return os.Getenv("VERTEX_PRODUCT") == "COLAB_ENTERPRISE" }

// ColabToken returns the fal key of a Google Colab session: FAL_KEY from the
// environment, and only when IsGoogleColab is true.
//
// A Go process cannot read the Colab secret vault: only the notebook's
// Python kernel can (google.colab.userdata.get), and a program started from
// a cell with ! inherits nothing but the kernel's environment. ColabToken
// therefore never contacts the vault; it reports true only after the
// notebook copied the secret into the environment with
//
//	import os; from google.colab import userdata; os.environ["FAL_KEY"] = userdata.get("FAL_KEY")
//
// in a Python cell before the program started. The default credential chain
// reads FAL_KEY anyway, so ColabToken exists for parity with the Python
// client and for programs that want to tell the two cases apart.
func ColabToken() (string, bool) {
	if !IsGoogleColab() {
		return "", false
	}
	k := strings.TrimSpace(os.Getenv("FAL_KEY"))
	if k == "" || !validToken(k) {
		return "", false
	}
	return k, true
}

// colabBridge is the one Python cell that makes a Colab secret visible to
// programs started from the notebook afterwards.
const colabBridge = `import os; from google.colab import userdata; os.environ["FAL_KEY"] = userdata.get("FAL_KEY")`

// colabAdvice explains how to hand a Colab secret to a Go program.
func colabAdvice(enterprise bool) string {
	var b strings.Builder
	if enterprise {
		b.WriteString("This process runs in Colab Enterprise (Vertex AI).")
	} else {
		b.WriteString("This process runs in Google Colab.")
	}
	b.WriteString(" A Go program cannot read Colab secrets: only the notebook's Python kernel can (google.colab.userdata.get), and a program started with ! sees only the environment. Run this in a Python cell, then re-run the program:\n    ")
	b.WriteString(colabBridge)
	b.WriteString("\nMake sure a secret named FAL_KEY exists in the Secrets panel (the key icon) with \"Notebook access\" switched on.")
	if enterprise {
		b.WriteString(" Colab Enterprise may not offer that panel: copy the key into os.environ[\"FAL_KEY\"] from another store, such as Google Cloud Secret Manager.")
	}
	b.WriteString(" Under the VS Code extension or the `colab` CLI, notebook secrets are not available at all: set FAL_KEY another way, e.g. `colab run --env`.")
	return b.String()
}

// colabSource is the Colab entry of the chain. It never yields credentials:
// a Colab secret reaches a Go program only as FAL_KEY, which is tried first.
func colabSource() CredentialSource {
	s := CredentialSource{Name: "Google Colab", State: SourceNotSet}
	sig, ok := colabSignal()
	if !ok {
		s.Detail = "not a Colab runtime"
		return s
	}
	s.Detail = "Colab runtime detected (" + sig + "); its secrets cannot be read by a Go program, export FAL_KEY from a Python cell"
	return s
}
