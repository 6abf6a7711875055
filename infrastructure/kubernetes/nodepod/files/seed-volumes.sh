#!/bin/bash
# seed-volumes.sh fills the node Pod's volumes with what the node image keeps
# under them. It runs in the seed-volumes init container, from the node image
# itself, before the node container starts.
#
# Usage: seed-volumes.sh IMAGE_DIR:VOLUME_DIR...
#
# Each argument names a directory of the image (for example /var) and the
# directory where the init container mounts the volume that the node container
# mounts over it (for example /seed/var). A node image keeps content under /var
# (kind images keep their preloaded images in /var/lib/containerd), and a volume
# starts out empty and would hide it.
#
# Rules:
#   - A volume is seeded only while it is empty (a lost+found directory, which a
#     new ext4 volume has, does not count). A PersistentVolumeClaim that already
#     holds a node's data is never overwritten.
#   - An image directory that has a volume of its own is left out of its
#     parent's copy (/var/lib/containerd is not copied into the /var volume).
#   - The copy goes to a staging directory inside the volume first and is then
#     renamed into place, so that an interrupted seed is redone, not kept.
set -o errexit -o nounset -o pipefail
shopt -s nullglob dotglob

readonly staging=.podcluster-seed
readonly staged=.podcluster-seed.done

log() { echo "seed-volumes: $*" >&2; }

# is_empty DIR: DIR holds nothing but lost+found and an unfinished staging copy.
is_empty() {
  local entry
  for entry in "$1"/*; do
    case "${entry##*/}" in
      lost+found | "$staging") ;;
      *) return 1 ;;
    esac
  done
}

# finish DIR: move a complete staged copy into place.
finish() {
  local entry
  for entry in "$1/$staged"/*; do
    mv -f "$entry" "$1/"
  done
  rmdir "$1/$staged"
}

image_dirs=()
for pair in "$@"; do
  image_dirs+=("${pair%%:*}")
done

for pair in "$@"; do
  src=${pair%%:*} dst=${pair#*:}
  if [[ ! -d "$dst" ]]; then
    log "$dst is not a mounted volume"
    exit 1
  fi
  if [[ -d "$dst/$staged" ]]; then
    log "finishing an interrupted seed of $dst"
  elif ! is_empty "$dst"; then
    log "$dst already holds data; keeping it"
    continue
  elif [[ ! -d "$src" ]]; then
    log "the image has no $src; $dst stays empty"
    continue
  else
    excludes=()
    for other in "${image_dirs[@]}"; do
      if [[ "$other" == "$src"/* ]]; then
        # Keep the directory itself: the node mounts the other volume on it.
        excludes+=("--exclude=./${other#"$src"/}/*")
      fi
    done
    log "seeding $dst from the image's $src"
    rm -rf "${dst:?}/$staging"
    mkdir "$dst/$staging"
    tar -C "$src" --anchored "${excludes[@]}" -cf - . | tar -C "$dst/$staging" -xpf -
    mv "$dst/$staging" "$dst/$staged"
  fi
  finish "$dst"
  # The volume's root takes the owner and mode of the image's directory
  # (emptyDirs start out 0777). Some storage refuses (NFS squashes root): the
  # node still works, so that is only a warning.
  if [[ -d "$src" ]]; then
    chown --reference="$src" "$dst" && chmod --reference="$src" "$dst" ||
      log "warning: could not give $dst the owner and mode of $src"
  fi
done
