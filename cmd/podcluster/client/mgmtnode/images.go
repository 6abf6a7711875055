package mgmtnode

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// importImages imports the node image and the Kubernetes images preloaded in
// it (among them the pause image), unless an earlier run did.
func (n *Node) importImages(ctx context.Context) error {
	name, err := os.ReadFile(filepath.Join(n.opts.NodeImageDir, "image-name"))
	if err != nil {
		return err
	}
	n.Image = strings.TrimSpace(string(name))
	ctx, cancel := context.WithTimeout(ctx, importTimeout)
	defer cancel()
	have, err := n.ctr(ctx, "images", "list", "--quiet")
	if err != nil {
		return err
	}
	images := strings.Fields(have)
	if !slices.Contains(images, SandboxImage) {
		n.step("Importing the Kubernetes images into the management node")
		start := time.Now()
		if err := n.importPreloaded(ctx); err != nil {
			return err
		}
		n.step(fmt.Sprintf("  imported in %s", time.Since(start).Round(100*time.Millisecond)))
	}
	if !slices.Contains(images, n.Image) {
		n.step(fmt.Sprintf("Importing the node image %s into the management node", n.Image))
		start := time.Now()
		if _, err := n.ctr(ctx, "images", "import", filepath.Join(n.opts.NodeImageDir, "node-image.tar")); err != nil {
			return fmt.Errorf("importing the node image: %w", err)
		}
		n.step(fmt.Sprintf("  imported in %s", time.Since(start).Round(100*time.Millisecond)))
	}
	// The extra archives, every time: they are small, and the same name may
	// hold a newer image than the last run imported.
	for _, archive := range n.opts.Images {
		start := time.Now()
		out, err := n.ctr(ctx, "images", "import", archive)
		if err != nil {
			return fmt.Errorf("importing the image archive %s: %w", archive, err)
		}
		n.step(fmt.Sprintf("Imported %s into the management node in %s: %s", archive,
			time.Since(start).Round(100*time.Millisecond), strings.Join(importedNames(out), ", ")))
	}
	return nil
}

// importedNames picks the image names from the output of ctr images import
// ("unpacking <name> (sha256:...)...done").
func importedNames(out string) []string {
	var names []string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "unpacking" {
			names = append(names, f[1])
		}
	}
	return names
}

// importPreloaded imports the archive of Kubernetes images the node image
// keeps in /usr/share/podcluster/images, read from rootfs.tar.
func (n *Node) importPreloaded(ctx context.Context) error {
	rootfs := filepath.Join(n.opts.NodeImageDir, "rootfs.tar")
	list, err := exec.CommandContext(ctx, "tar", "-tf", rootfs, "--wildcards", "*usr/share/podcluster/images/*.tar").Output()
	if err != nil {
		return fmt.Errorf("finding the preloaded images in %s: %w", rootfs, err)
	}
	member := strings.TrimSpace(strings.SplitN(string(list), "\n", 2)[0])
	if member == "" {
		return fmt.Errorf("%s holds no preloaded images", rootfs)
	}
	archive := n.path("kubernetes-images.tar")
	defer func() { _ = os.Remove(archive) }()
	out, err := os.Create(archive)
	if err != nil {
		return err
	}
	extract := exec.CommandContext(ctx, "tar", "-xOf", rootfs, member)
	extract.Stdout = out
	err = extract.Run()
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("extracting %s from %s: %w", member, rootfs, err)
	}
	if _, err := n.ctr(ctx, "images", "import", archive); err != nil {
		return fmt.Errorf("importing the preloaded images: %w", err)
	}
	return nil
}
