# bench/gpu-vm's LLM part in the guest (scripts/device-run-vm.sh --llm): the
# LLM bundle (scripts/device-bundle-llm.sh's .tar.gz) arrives as the guest's
# first virtio disk, read as a plain tar stream; make-gguf writes the 1B-shape
# model into the guest's RAM, and llama-bench runs on the guest's Venus
# driver (the bundle's Mesa) at its defaults (pp512, tg128). The kernel
# argument pv.llm_shape=tiny picks make-gguf's small shape (a rehearsal on a
# CPU driver). busybox sh, sourced by bench/gpu-vm-guest.sh.
i=0; while [ ! -e /dev/vda ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
if [ -e /dev/vda ] && mkdir -p /opt && tar -xzf /dev/vda -C /opt 2>/dev/null && [ -x /opt/pv-llm/run ]; then
    s=$(up)
    shape=$(sed -n 's/.*pv\.llm_shape=\([a-z0-9]*\).*/\1/p' /proc/cmdline)
    /opt/pv-llm/run make-gguf --shape "${shape:-1b}" /tmp/pv-model.gguf
    echo "PVBENCH make-gguf s=$s e=$(up)"
    GGML_VK_VISIBLE_DEVICES=0 VK_DRIVER_FILES=/opt/pv-llm/icd/virtio_icd.json \
        /opt/pv-llm/run llama-bench -m /tmp/pv-model.gguf -r 3 -dev Vulkan0 -o jsonl \
        2>/tmp/pv-llama.err | sed 's/^/PVBENCH llama /'
    echo "PVBENCH llama rc=$?"
    grep -E 'ggml_vulkan: 0 =' /tmp/pv-llama.err | head -n 1
else
    echo "PVBENCH llm: no LLM bundle on /dev/vda"
fi
