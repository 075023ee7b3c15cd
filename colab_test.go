package fal

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestIsGoogleColab(t *testing.T) {
	tests := []struct {
		name       string
		env        map[string]string
		colab      bool
		enterprise bool
	}{
		{"nothing", nil, false, false},
		{"COLAB_RELEASE_TAG", map[string]string{"COLAB_RELEASE_TAG": "release-colab_20250902-060114_RC00"}, true, false},
		{"empty COLAB_RELEASE_TAG", map[string]string{"COLAB_RELEASE_TAG": ""}, false, false},
		{"COLAB_GPU present but empty", map[string]string{"COLAB_GPU": ""}, true, false},
		{"COLAB_BACKEND_VERSION", map[string]string{"COLAB_BACKEND_VERSION": "next"}, true, false},
		{"COLAB_JUPYTER_IP", map[string]string{"COLAB_JUPYTER_IP": "172.28.0.12"}, true, false},
		{"COLAB_KERNEL_MANAGER_PROXY_PORT", map[string]string{"COLAB_KERNEL_MANAGER_PROXY_PORT": "6000"}, true, false},
		{"Colab Enterprise", map[string]string{"VERTEX_PRODUCT": "COLAB_ENTERPRISE"}, true, true},
		{"other Vertex product", map[string]string{"VERTEX_PRODUCT": "WORKBENCH"}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			credClearEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			if got := IsGoogleColab(); got != tc.colab {
				t.Errorf("IsGoogleColab() = %v, want %v", got, tc.colab)
			}
			_, err := DefaultCredentialsChain().Credentials(context.Background())
			var me *MissingCredentialsError
			if !errors.As(err, &me) || !errors.Is(err, ErrMissingCredentials) {
				t.Fatalf("err = %v, want *MissingCredentialsError", err)
			}
			if me.Colab != tc.colab || me.ColabEnterprise != tc.enterprise {
				t.Errorf("Colab = %v, ColabEnterprise = %v", me.Colab, me.ColabEnterprise)
			}
			msg, advice := err.Error(), me.Advice()
			if strings.ContainsAny(msg, "\r\n") || strings.Count(msg, "fal: ") != 1 {
				t.Errorf("Error() is not one line with one prefix:\n%s", msg)
			}
			if !tc.colab {
				if strings.Contains(msg+advice, "userdata") {
					t.Errorf("Colab advice outside Colab:\n%s\n%s", msg, advice)
				}
				return
			}
			if !strings.Contains(msg, "Colab runtime detected") {
				t.Errorf("Error() does not report the Colab source:\n%s", msg)
			}
			for _, s := range []string{
				"userdata.get", "os.environ",
				`import os; from google.colab import userdata; os.environ["FAL_KEY"] = userdata.get("FAL_KEY")`,
				"re-run the program", `"Notebook access"`, "Secrets panel", "VS Code", "`colab run --env`",
			} {
				if !strings.Contains(advice, s) {
					t.Errorf("Advice() lacks %q:\n%s", s, advice)
				}
			}
			if strings.Contains(advice, "%env") {
				t.Errorf("Advice() suggests %%env:\n%s", advice)
			}
			if got := strings.Contains(advice, "Colab Enterprise"); got != tc.enterprise {
				t.Errorf("mentions Colab Enterprise = %v, want %v:\n%s", got, tc.enterprise, advice)
			}
		})
	}
}

func TestColabToken(t *testing.T) {
	credClearEnv(t)
	t.Setenv("FAL_KEY", credTestKey)
	if k, ok := ColabToken(); ok || k != "" {
		t.Errorf("outside Colab: %q, %v", k, ok)
	}
	t.Setenv("COLAB_RELEASE_TAG", "release-colab")
	if k, ok := ColabToken(); !ok || k != credTestKey {
		t.Errorf("in Colab with FAL_KEY exported: ok = %v", ok)
	}
	t.Setenv("FAL_KEY", "")
	if k, ok := ColabToken(); ok || k != "" {
		t.Errorf("in Colab without FAL_KEY: %q, %v", k, ok)
	}
}
