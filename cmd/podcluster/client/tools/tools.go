// Package tools finds the pinned Kubernetes binaries (etcd, kube-apiserver,
// kube-controller-manager, kubeadm, kubectl) that hack/tools/ensure.sh builds
// once per version into a cache outside the clone and links into bin/.
package tools

import (
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
// (or $KUBEBUILDER_ASSETS) wins when set; otherwise the checkout around the
// working directory builds what is missing with hack/tools/ensure.sh, whose
// progress goes to progress, and its bin/ folder is returned.
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
		return "", fmt.Errorf("%w; set $%s to a folder with %s", err, BinDirEnv, strings.Join(names, ", "))
	}
	cmd := exec.Command(filepath.Join(root, "hack", "tools", "ensure.sh"), names...)
	cmd.Stdout, cmd.Stderr = progress, progress
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building %s with hack/tools/ensure.sh: %w", strings.Join(names, ", "), err)
	}
	return filepath.Join(root, "bin"), nil
}
