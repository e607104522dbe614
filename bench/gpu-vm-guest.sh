# bench/gpu-vm's measurements on the GPU machine (scripts/device-run-vm.sh),
# one busybox-sh fragment run twice: in the guest by its /init (programs on
# PATH), and natively on the host with PV_RUN set to the device bundle's
# launcher. Prints "PVBENCH ..." lines and the programs' own result lines.
# Knobs: PV_SIZES (compute sizes), PV_ITER (iterations per size).
r=${PV_RUN:-}
sizes=${PV_SIZES:-4K,1M,16M,64M}
iter=${PV_ITER:-30}
echo "PVBENCH begin"
$r vulkaninfo --summary 2>&1 | grep -E 'deviceName|apiVersion|driverInfo' | head -n 3
up() { cut -d' ' -f1 /proc/uptime; }
for k in 1 2 3 4; do
    s=$(up); $r vulkaninfo --summary >/tmp/pv-vi.txt 2>&1; rc=$?; e=$(up)
    echo "PVBENCH vulkaninfo rc=$rc s=$s e=$e"
done
echo "PVBENCH device-extensions $($r vulkaninfo 2>/dev/null | sed -n '/^Device Extensions/,/^$/p' | grep -c ': extension revision')"
$r pv-compute-test --sizes "$sizes" --iterations "$iter"; echo "PVBENCH compute rc=$?"
$r pv-render-test --iterations "$iter"; echo "PVBENCH render rc=$?"
$r pv-timeline-test --steps 256 | tail -n 2
$r pv-roundtrip 2>/dev/null | tail -n 3
extra=${PV_EXTRA:-/pv-extra.sh}
[ -f "$extra" ] && . "$extra"
echo "PVBENCH-END"
