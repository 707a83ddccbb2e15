# shellcheck shell=bash disable=SC2034  # (variables are for the sourcing script)
# Shared helpers for the dlrd test VM scripts (sourced by prepare and vm-run).
#
# Everything the VM needs is taken from the host's own Debian installation:
# the kernel image and its modules, a static busybox for the initramfs and
# qemu.  Nothing is downloaded except through apt (see prepare).

# Where the kernel and its modules are looked up.  Normally the host's root;
# pointing it at a directory into which a linux-image .deb was unpacked
# (dpkg -x) lets a different kernel be tried without installing it.
vm_modroot=${DLRD_VM_MODROOT:-/}
vm_modroot=${vm_modroot%/}
vm_cache=${DLRD_VM_CACHE:-/var/cache/dlrd-test-vm}
vm_busybox=/bin/busybox
# modprobe lives in sbin, which an ordinary user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin

# Modules shipped in the initramfs.  The boot modules are required: they
# reach the host root over 9p, and overlay serves the VM's own mounts.  The
# preloaded ones are what the tests use all the time; a missing one is only a
# warning.  Everything else is autoloaded by the kernel through the host's
# modprobe.  They are loaded with busybox insmod because the host's modprobe
# is slow to start under emulation (about a second per run: it links
# libcrypto).
vm_boot_modules=(virtio_pci 9pnet_virtio 9p overlay)
vm_preload_modules=(vrf 8021q vxlan bridge veth dummy tun
    nf_tables nft_ct nft_chain_nat nft_nat nft_masq nft_reject_inet
    nft_fib_inet nft_limit nft_log)

vm_log() { printf 'dlrd-vm: %s\n' "$*" >&2; }
vm_die() { vm_log "error: $*"; exit 125; }

# Sets vm_kver and vm_kernel to the kernel the VM boots: the
# version in DLRD_VM_KVER, else the newest stock "-amd64" flavour that has
# both an image and a modules directory.  The cloud and rt flavours are
# skipped because they may lack drivers the tests need.
vm_find_kernel() {
    local v candidates=()
    vm_kver='' vm_kernel=''
    if [[ -n ${DLRD_VM_KVER:-} ]]; then
        candidates=("$DLRD_VM_KVER")
    else
        local img
        for img in "$vm_modroot"/boot/vmlinuz-*-amd64; do
            [[ -e $img ]] || continue
            v=${img##*/vmlinuz-}
            [[ $v == *-cloud-amd64 || $v == *-rt-amd64 ]] && continue
            candidates+=("$v")
        done
        # Newest first.
        if ((${#candidates[@]})); then
            mapfile -t candidates < <(printf '%s\n' "${candidates[@]}" | sort -rV)
        fi
    fi
    for v in "${candidates[@]}"; do
        if [[ -r $vm_modroot/boot/vmlinuz-$v && -e $vm_modroot/lib/modules/$v/modules.dep ]]; then
            vm_kver=$v
            vm_kernel=$vm_modroot/boot/vmlinuz-$v
            return 0
        fi
    done
    return 1
}

# Prints "FILE [PARAMS]" lines, dependencies first, for loading the modules
# named as arguments and their dependencies, except those in the variable
# named by $1 (an array of lines already printed).  modprobe resolves the
# dependencies from modules.dep, so this follows whatever the kernel package
# ships; built-in modules need no loading.
vm_module_load_lines() {
    local m line
    for m in "$@"; do
        modprobe -d "${vm_modroot:-/}" -S "$vm_kver" --show-depends "$m" || return 1
    done | while read -r line; do
        # "insmod /path/x.ko [params]" or "builtin x".
        [[ $line == insmod\ * ]] && printf '%s\n' "${line#insmod }"
    done | awk '!seen[$0]++'
}

# Sets vm_boot_lines and vm_preload_lines (arrays of "FILE [PARAMS]").
vm_resolve_modules() {
    local out
    out=$(vm_module_load_lines "${vm_boot_modules[@]}") || return 1
    mapfile -t vm_boot_lines <<<"$out"
    out=$(vm_module_load_lines "${vm_preload_modules[@]}") || return 1
    # Not twice: whatever the boot modules already brought in.
    mapfile -t vm_preload_lines < <(printf '%s\n' "$out" |
        grep -vxF -f <(printf '%s\n' "${vm_boot_lines[@]}"))
}

# Sets vm_initramfs to the cache path of the initramfs for the selected
# kernel (and the vm_resolve_modules arrays).  The name carries a hash of
# everything that goes into the image (kernel version, module files, init
# script, busybox), so a change of any of them selects a new file (prepare
# removes the stale ones).
vm_initramfs_name() {
    local here=$1 hash
    vm_resolve_modules || return 1
    hash=$( {
        echo "format 3"
        echo "$vm_modroot $vm_kver"
        cat "$here/initramfs-init"
        printf '%s\n' "${vm_boot_lines[@]}" -- "${vm_preload_lines[@]}"
        stat -L -c '%n %s %Y' "$vm_busybox" "${vm_boot_lines[@]%% *}" "${vm_preload_lines[@]%% *}"
    } | sha256sum | cut -c1-16)
    vm_initramfs=$vm_cache/initramfs-$vm_kver-$hash.cpio
}

# Sets vm_vmlinux to the cache path of the uncompressed kernel that prepare
# extracts from vm_kernel.  Booting that ELF image directly (PVH entry) skips
# the xz decompression, which takes some 4 s under software emulation.
vm_vmlinux_name() {
    local hash
    hash=$(stat -L -c '%n %s %Y' "$vm_kernel" | sha256sum | cut -c1-16)
    vm_vmlinux=$vm_cache/vmlinux-$vm_kver-$hash
}

# qboot (shipped in qemu-system-data) starts a kernel much faster than the
# default SeaBIOS; it is used when present.
vm_firmware=/usr/share/qemu/qboot.rom
