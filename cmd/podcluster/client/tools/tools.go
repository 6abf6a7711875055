// Package tools finds the pinned Kubernetes binaries (etcd, kube-apiserver,
// kube-controller-manager, kubeadm, kubectl) that hack/tools/ensure.sh builds
// once per version into a cache outside the clone and links into bin/.
package tools

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// BinDirEnv names a folder that already holds the binaries; when set, nothing is built.
const BinDirEnv = "PODCLUSTER_BIN_DIR"

// cacheDirs lists, for the tools `podcluster up` runs, the folder in the tool
// cache that holds this version's build ("TOOL FOLDER" lines). make generate
// writes it with hack/tools/ensure.sh --print-cache-dirs, so that a binary
// installed outside the clone finds the tools the clone built.
//
//go:embed cachedirs.txt
var cacheDirs []byte

// RepoRoot finds the podcluster checkout: the nearest folder at or above dir
// whose go.mod declares the podcluster module.
func RepoRoot(dir string) (string, error) {
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.HasPrefix(string(data), "module github.com/podcluster/podcluster\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside a podcluster checkout (no go.mod of github.com/podcluster/podcluster above the working directory)")
		}
		dir = parent
	}
}

// EnsureBinDir returns the folder holding the named binaries. $PODCLUSTER_BIN_DIR
// (or $KUBEBUILDER_ASSETS) wins when set. Inside a checkout, the checkout
// builds what is missing with hack/tools/ensure.sh, whose progress goes to
// progress, and its bin/ folder is returned. Outside one (an installed
// binary), the tools are taken from the tool cache where `make install` built
// them; when they are not there, the error says what to run or set.
func EnsureBinDir(progress io.Writer, names ...string) (string, error) {
	for _, env := range []string{BinDirEnv, "KUBEBUILDER_ASSETS"} {
		if dir := os.Getenv(env); dir != "" {
			for _, n := range names {
				if _, err := os.Stat(filepath.Join(dir, n)); err != nil {
					return "", fmt.Errorf("$%s=%s has no %s: %w", env, dir, n, err)
				}
			}
			return dir, nil
		}
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	root, err := RepoRoot(wd)
	if err != nil {
		return fromCache(names)
	}
	cmd := exec.Command(filepath.Join(root, "hack", "tools", "ensure.sh"), names...)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s with hack/tools/ensure.sh: %w", strings.Join(names, ", "), err)
	}
	return filepath.Join(root, "bin"), nil
}

// CacheDir is the tool cache, as hack/tools/ensure.sh picks it:
// $PODCLUSTER_TOOLS_CACHE, else $XDG_CACHE_HOME/podcluster/tools, else
// ~/.cache/podcluster/tools.
func CacheDir() (string, error) {
	if dir := os.Getenv("PODCLUSTER_TOOLS_CACHE"); dir != "" {
		return dir, nil
	}
	if dir := os.Getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "podcluster", "tools"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the tool cache: %w", err)
	}
	return filepath.Join(home, ".cache", "podcluster", "tools"), nil
}

// fromCache finds the named tools of this version in the tool cache and
// links them into one folder of the cache, bin-<versions>, which it returns.
func fromCache(names []string) (string, error) {
	cache, err := CacheDir()
	if err != nil {
		return "", err
	}
	dirs := parseCacheDirs(cacheDirs)
	var missing, keys []string
	for _, n := range names {
		dir, ok := dirs[n]
		if !ok {
			return "", fmt.Errorf("podcluster does not know which build of %s to use; set $%s to a folder holding %s", n, BinDirEnv, strings.Join(names, ", "))
		}
		keys = append(keys, dir)
		if _, err := os.Stat(filepath.Join(cache, dir, n)); err != nil {
			missing = append(missing, filepath.Join(dir, n))
		}
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("not inside a podcluster checkout, and the tool cache %s lacks this version's %s.\n"+
			"Run 'make install' (or 'hack/tools/ensure.sh %s') in a checkout of the podcluster version this binary was built from, "+
			"or run podcluster inside that checkout, or set $%s to a folder holding %s",
			cache, strings.Join(missing, ", "), strings.Join(names, " "), BinDirEnv, strings.Join(names, ", "))
	}
	// One folder of links, named after the builds it links, so that
	// binaries of different versions never share one.
	bin := filepath.Join(cache, "bin-"+shortHash(strings.Join(keys, ",")))
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return "", err
	}
	for i, n := range names {
		link := filepath.Join(bin, n)
		target := filepath.Join("..", keys[i], n)
		if cur, err := os.Readlink(link); err == nil && cur == target {
			continue
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil && !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("linking %s: %w", n, err)
		}
	}
	return bin, nil
}

// parseCacheDirs reads "TOOL FOLDER" lines.
func parseCacheDirs(data []byte) map[string]string {
	out := map[string]string{}
	s := bufio.NewScanner(bytes.NewReader(data))
	for s.Scan() {
		if f := strings.Fields(s.Text()); len(f) == 2 {
			out[f[0]] = f[1]
		}
	}
	return out
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
