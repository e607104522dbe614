#!/bin/sh
# Guest boot setup, run once by pv-init (PID 1) before it starts the agent:
# file systems, kernel modules for the devices present, hostname, network for
# QEMU user networking, and growing the root filesystem to the disk's size.
# Keep it short: under TCG every process start costs milliseconds.
bb=/usr/bin/busybox

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
ln -sf /proc/self/fd /dev/fd

name=pearvisor desktop=
for arg in $(cat /proc/cmdline); do
    case $arg in
        pearvisor.name=*) name=${arg#pearvisor.name=} ;;
        pearvisor.desktop=*) desktop=${arg#pearvisor.desktop=} ;;
    esac
done
echo "$name" >/proc/sys/kernel/hostname

# What udev would load, and no more: drivers for the virtio devices present
# (network, rng, GPU; virtio_pci and the console are built in), the power
# button and evdev, through which pv-init reads it. The button is ACPI's on
# x86 (q35); on a device-tree machine (ARM's virt) it is a gpio-keys key on
# the PL061 GPIO controller. Not the q35 chipset's SATA, SMBus and LPC
# drivers: nothing here uses them, and under TCG they cost seconds.
button=button
[ -d /proc/device-tree ] && button="gpio_pl061 gpio_keys"
modprobe -qab evdev $button $(cat /sys/bus/virtio/devices/*/modalias 2>/dev/null)

$bb ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
    # QEMU user networking (slirp): guest 10.0.2.15, host 10.0.2.2, DNS 10.0.2.3.
    $bb ip addr add 10.0.2.15/24 dev eth0
    $bb ip link set eth0 up
    $bb ip route add default via 10.0.2.2
fi

# A disk made bigger than the image (pearvisor create --disk): grow ext4 online.
dev_kb=$(($(cat /sys/class/block/vda/size 2>/dev/null || echo 0) / 2))
fs_kb=$(df -k / | awk 'NR == 2 { print $2 }')
if [ "$dev_kb" -gt $((fs_kb + fs_kb / 10 + 65536)) ]; then
    echo "pearvisor-boot: growing / to the disk's size" >/dev/console
    resize2fs /dev/vda >/dev/null 2>&1 || echo "pearvisor-boot: resize2fs failed" >/dev/console
fi
# A desktop VM (pearvisor create --desktop): the session starts beside the
# agent and says on the console when its compositor is up.
case $desktop in
    venus | 2d) setsid /usr/lib/pearvisor/desktop/session.sh "$desktop" </dev/null >/dev/null 2>&1 & ;;
esac
exit 0
