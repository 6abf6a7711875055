// Module of the node-image build's Go programs (hack/node-image/build.sh):
// ociarchive, which wraps a root filesystem tarball into a single-layer OCI
// image archive, and pause, the Pod sandbox's process. It is separate from the
// project's module so that the image library never becomes a dependency of the
// product.
module github.com/podcluster/podcluster/hack/node-image

go 1.26.0

require github.com/google/go-containerregistry v0.22.1

require (
	github.com/klauspost/compress v1.19.2 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	golang.org/x/sync v0.22.0 // indirect
)
