package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// minNode is the oldest Node.js major version the JS side supports
// (fs.openAsBlob and a global fetch).
const minNode = 20

// setupNode checks Node.js and installs bench/js's pinned dependencies with
// `npm ci` when node_modules is missing or holds another version of the
// client than package-lock.json pins. It returns the Node version and the
// installed @fal-ai/client version.
func setupNode(ctx context.Context, jsDir string) (nodeVersion, client string, err error) {
	out, err := exec.CommandContext(ctx, "node", "--version").Output()
	if err != nil {
		return "", "", fmt.Errorf("node --version: %w (Node.js %d or newer is needed for the JS client)", err, minNode)
	}
	nodeVersion = strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.SplitN(strings.TrimPrefix(nodeVersion, "v"), ".", 2)[0])
	if major < minNode {
		return "", "", fmt.Errorf("Node.js %s is too old: the JS side needs %d or newer", nodeVersion, minNode)
	}
	pinned, err := lockedClientVersion(jsDir)
	if err != nil {
		return "", "", err
	}
	installed, _ := installedClientVersion(jsDir)
	if installed != pinned {
		logf("installing @fal-ai/client %s in %s (npm ci)", pinned, jsDir)
		cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
		cmd.Dir = jsDir
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", "", fmt.Errorf("npm ci in %s: %w\n%s", jsDir, err, out)
		}
		if installed, err = installedClientVersion(jsDir); err != nil {
			return "", "", err
		}
		if installed != pinned {
			return "", "", fmt.Errorf("npm ci installed @fal-ai/client %s, but package-lock.json pins %s", installed, pinned)
		}
	}
	return nodeVersion, installed, nil
}

// lockedClientVersion reads the @fal-ai/client version package-lock.json pins.
func lockedClientVersion(jsDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(jsDir, "package-lock.json"))
	if err != nil {
		return "", fmt.Errorf("reading the JS lock file: %w", err)
	}
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		return "", fmt.Errorf("%s: %w", filepath.Join(jsDir, "package-lock.json"), err)
	}
	v := lock.Packages["node_modules/@fal-ai/client"].Version
	if v == "" {
		return "", fmt.Errorf("%s pins no @fal-ai/client", filepath.Join(jsDir, "package-lock.json"))
	}
	return v, nil
}

// installedClientVersion reads the version of the installed @fal-ai/client.
func installedClientVersion(jsDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(jsDir, "node_modules", "@fal-ai", "client", "package.json"))
	if err != nil {
		return "", err
	}
	var pkg struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return "", err
	}
	return pkg.Version, nil
}
