# shellcheck shell=bash
# Shared by scripts/build-cross and scripts/test-cross: Debian's rustc-web
# with std rebuilt from source, and zig cc as C compiler, linker and musl
# for every router target (README, "Router images").

declare -A ZIG_TRIPLE=(
    [mips-unknown-linux-musl]=mips-linux-musleabi
    [mipsel-unknown-linux-musl]=mipsel-linux-musleabi
    [armv7-unknown-linux-musleabihf]=arm-linux-musleabihf
    [aarch64-unknown-linux-musl]=aarch64-linux-musl
    [x86_64-unknown-linux-musl]=x86_64-linux-musl
)
export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1
readonly CROSS_WRAPPERS=$PWD/target/cross-cc
readonly CROSS_RUSTFLAGS="-C target-feature=+crt-static -C link-self-contained=no"

# RUSTFLAGS for a target, the same for the images and the qemu-user tests.
# MIPS code is position-independent by default even in a static executable:
# every call loads its target from the GOT into $t9. Our binaries are
# fixed-address executables either way, so non-PIC code costs nothing and
# saves about 10 % of .text.
# LLVM makes no tail calls on MIPS unless asked (-mips-tail-calls, off by
# default; GCC makes them at -O2): a call that ends a function becomes a
# jump, without the return through it or the saved $ra around it. With
# non-PIC code there is no $gp to restore after the call, the concern that
# kept the option off. 1.9 KB of the mips image.
cross_rustflags() {
    local flags=$CROSS_RUSTFLAGS
    [[ $1 != mips* ]] || flags+=" -C relocation-model=static -C llvm-args=-mips-tail-calls=1"
    echo "$flags"
}

# cargo's environment variable for a per-target setting.
target_env() {
    local upper=${1^^}
    echo "CARGO_TARGET_${upper//-/_}_$2"
}

# Writes the zig cc wrapper used as C compiler and linker for a target and
# prints the settings cargo needs to use it, one NAME=VALUE per line.
cross_linker_env() {
    local triple=$1 zig=${ZIG_TRIPLE[$1]:?unknown target $1}
    local path=$CROSS_WRAPPERS/$triple-cc
    mkdir -p "$CROSS_WRAPPERS"
    cat >"$path" <<WRAPPER
#!/bin/sh
exec python3 -m ziglang cc -target $zig -Os "\$@"
WRAPPER
    chmod +x "$path"
    echo "$(target_env "$triple" LINKER)=$path"
    echo "CC_${triple//-/_}=$path"
}
