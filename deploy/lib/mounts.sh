# SPDX-License-Identifier: Apache-2.0
# Bind mounts into a root directory, undone in reverse order at exit.
# Sourced by deploy/image-rootfs.sh and deploy/debootstrap-check.sh.

mounts=()

# mount_in ROOT WHAT [ro]: WHAT of this host at the same path in ROOT.
mount_in() {
	local root=$1 what=$2 mode=${3:-rw}
	mkdir -p "$root$what"
	mount --bind "$what" "$root$what"
	mounts+=("$root$what")
	if [ "$mode" = ro ]; then
		mount -o remount,bind,ro "$root$what"
	fi
}

# Unmounts every mount made by mount_in (or added to mounts), last first.
unmount_all() {
	local i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		umount -l "${mounts[i]}" 2>/dev/null || true
	done
	mounts=()
}
