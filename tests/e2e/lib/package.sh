# shellcheck shell=bash
# Shared by the package tests (test-package-*.sh), after lib/common.sh: the tools a test needs (missing:
# a skip here, a failure in CI, where scripts/setup installs them), a git checkout (the packages are
# built from its commit), the version CMakeLists.txt declares ($version), and the source tree's state
# before the builds ($before_src: they read it, never write it).
# fl_package_needs TOOL…
# shellcheck disable=SC2034 # version and before_src: for the test that sources this file
fl_package_needs() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null && continue
        [[ ${CI:-} == true ]] && fl_fail "no $tool (scripts/setup installs it)"
        fl_skip "no $tool (scripts/setup installs it)"
    done
    git -C "$FL_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1 || fl_skip "not a git checkout"
    version=$(sed -nE 's/^project\(fipsluks VERSION ([0-9.]+)[ )].*/\1/p' "$FL_SOURCE_DIR/CMakeLists.txt")
    [[ -n $version ]] || fl_fail "no version in CMakeLists.txt"
    before_src=$(git -C "$FL_SOURCE_DIR" status --porcelain --ignored=no)
}
