# Sourced (POSIX sh) by the GPU-machine run scripts (device-run.sh,
# device-run-vm.sh), which bundles carry next to it: points the Vulkan loader
# at the machine's NVIDIA ICD (NVIDIA_ICD, default
# /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json), the EGL vendor
# library at NVIDIA's (the ICD initialises through EGL; libglvnd comes from
# the bundle), and sets PV_BUNDLE_LIBRARY_PATH to the directory of the
# driver's libraries (NVIDIA_LIBS, default: the one holding
# libGLX_nvidia.so.0). Returns 1 with a message when something is missing.
pv_nvidia_env() {
    nv=/usr/local/nvidia
    export VK_DRIVER_FILES=${NVIDIA_ICD:-$nv/share/vulkan/icd.d/nvidia_icd.json}
    [ -f "$VK_DRIVER_FILES" ] || { echo "device: no NVIDIA ICD at $VK_DRIVER_FILES" >&2; return 1; }
    for f in "$nv/share/glvnd/egl_vendor.d/10_nvidia.json" /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
        [ -f "$f" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$f && break
    done
    if [ -z "${NVIDIA_LIBS:-}" ]; then
        for dir in "$nv/lib64" "$nv/lib" /usr/lib/x86_64-linux-gnu; do
            [ -e "$dir/libGLX_nvidia.so.0" ] && NVIDIA_LIBS=$dir && break
        done
    fi
    [ -n "${NVIDIA_LIBS:-}" ] || { echo "device: cannot find libGLX_nvidia.so.0; set NVIDIA_LIBS" >&2; return 1; }
    export PV_BUNDLE_LIBRARY_PATH=$NVIDIA_LIBS
}
