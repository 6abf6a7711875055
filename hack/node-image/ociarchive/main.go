// Command ociarchive makes single-layer OCI images from root filesystem
// tarballs and packs them into an OCI image archive that `ctr image import`
// loads under the images' names.
//
//	ociarchive add -layout DIR -name REF -layer ROOTFS.tar [-entrypoint JSON] [-cmd JSON]
//	               [-env K=V]... [-workdir DIR] [-user USER] [-stop-signal SIG]
//	ociarchive pack -layout DIR -o ARCHIVE.tar
//
// add appends one image to the OCI layout DIR (created when missing); pack
// writes DIR as a tar archive. The layer is the tarball as it is (build.sh
// makes it with root ownership and a fixed modification time, so that the same
// inputs give the same digests), compressed with gzip at the fastest level: the
// images are built on every machine that needs them, where compression time
// counts more than a few megabytes.
//
// Each image's descriptor in index.json carries its name twice: in
// io.containerd.image.name, which `ctr image import` uses, and its tag in
// org.opencontainers.image.ref.name, as the OCI image layout specifies.
package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// containerdImageName is the annotation `ctr image import` names an image by.
const containerdImageName = "io.containerd.image.name"

// epoch is the creation time of every image, so that equal inputs give equal
// digests.
var epoch = time.Unix(0, 0).UTC()

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ociarchive:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: ociarchive add|pack [flags]")
	}
	switch args[0] {
	case "add":
		return runAdd(args[1:])
	case "pack":
		return runPack(args[1:])
	}
	return fmt.Errorf("unknown command %q: want add or pack", args[0])
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// jsonList parses a flag value that is a JSON array of strings; empty is none.
func jsonList(flagName, v string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var out []string
	if err := json.Unmarshal([]byte(v), &out); err != nil {
		return nil, fmt.Errorf("-%s must be a JSON array of strings: %w", flagName, err)
	}
	return out, nil
}

func runAdd(args []string) error {
	fl := flag.NewFlagSet("add", flag.ContinueOnError)
	dir := fl.String("layout", "", "OCI layout directory to append to")
	ref := fl.String("name", "", "image name, for example registry.k8s.io/pause:3.10.2")
	layerPath := fl.String("layer", "", "root filesystem tarball, the image's only layer")
	entrypoint := fl.String("entrypoint", "", "entrypoint as a JSON array")
	cmd := fl.String("cmd", "", "command as a JSON array")
	workdir := fl.String("workdir", "", "working directory")
	user := fl.String("user", "", "user")
	stopSignal := fl.String("stop-signal", "", "stop signal, for example SIGRTMIN+3")
	var env listFlag
	fl.Var(&env, "env", "environment variable K=V (repeatable)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *ref == "" || *layerPath == "" {
		return errors.New("add needs -layout, -name and -layer")
	}
	tag, err := name.NewTag(*ref, name.StrictValidation)
	if err != nil {
		return fmt.Errorf("image name %q: %w", *ref, err)
	}
	ep, err := jsonList("entrypoint", *entrypoint)
	if err != nil {
		return err
	}
	c, err := jsonList("cmd", *cmd)
	if err != nil {
		return err
	}

	layer, err := tarball.LayerFromFile(*layerPath,
		tarball.WithCompressionLevel(gzip.BestSpeed), tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return fmt.Errorf("layer %s: %w", *layerPath, err)
	}
	platform := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	img, err := mutate.Append(mutate.MediaType(empty.Image, types.OCIManifestSchema1),
		mutate.Addendum{Layer: layer, MediaType: types.OCILayer})
	if err != nil {
		return err
	}
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	cfg, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture = platform.OS, platform.Architecture
	cfg.Created = v1.Time{Time: epoch}
	cfg.Config = v1.Config{
		Entrypoint: ep, Cmd: c, Env: env, WorkingDir: *workdir, User: *user, StopSignal: *stopSignal,
	}
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return err
	}
	if img, err = mutate.CreatedAt(img, v1.Time{Time: epoch}); err != nil {
		return err
	}

	p, err := layout.FromPath(*dir)
	if err != nil {
		if p, err = layout.Write(*dir, empty.Index); err != nil {
			return fmt.Errorf("create layout %s: %w", *dir, err)
		}
	}
	return p.AppendImage(img, layout.WithPlatform(platform), layout.WithAnnotations(map[string]string{
		containerdImageName:                 tag.Name(),
		"org.opencontainers.image.ref.name": tag.TagStr(),
	}))
}

// runPack writes the layout directory as a tar archive, files in lexical
// order with root ownership and a fixed time.
func runPack(args []string) error {
	fl := flag.NewFlagSet("pack", flag.ContinueOnError)
	dir := fl.String("layout", "", "OCI layout directory")
	out := fl.String("o", "", "archive to write")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *out == "" {
		return errors.New("pack needs -layout and -o")
	}
	f, err := os.Create(*out + ".tmp")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(*out + ".tmp") }()
	if err := writeTar(f, *dir); err != nil {
		_ = f.Close()
		return fmt.Errorf("pack %s: %w", *dir, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(*out+".tmp", *out)
}

func writeTar(w io.Writer, dir string) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || path == dir {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name, hdr.ModTime = filepath.ToSlash(rel), epoch
		hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = 0, 0, "", ""
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer func() { _ = f.Close() }()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
