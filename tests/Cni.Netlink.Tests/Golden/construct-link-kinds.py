#!/usr/bin/env python3
# Writes replies/link-get-vlan.strace and replies/link-get-ipvlan.strace: RTM_NEWLINK replies for a vlan and an ipvlan
# link, in the hex-dump format strace prints (what GoldenReplyTests reads).
#
# This kernel has neither 8021q nor ipvlan, so these replies cannot be captured here: they are built from the layout
# the kernel documents and fills (include/uapi/linux/if_link.h; rtnl_fill_ifinfo in net/core/rtnetlink.c, which puts
# IFLA_LINKINFO as an un-flagged nest holding IFLA_INFO_KIND and IFLA_INFO_DATA; vlan_fill_info in
# net/8021q/vlan_netlink.c: IFLA_VLAN_PROTOCOL (be16), IFLA_VLAN_ID (u16), IFLA_VLAN_FLAGS (struct ifla_vlan_flags);
# ipvlan_nl_fillinfo in drivers/net/ipvlan/ipvlan_main.c: IFLA_IPVLAN_MODE (u16), IFLA_IPVLAN_FLAGS (u16)).
# The top-level attributes are a subset of a real reply, in the kernel's order. Run again to regenerate (deterministic).
import struct, os

def nla(t, payload):
    n = 4 + len(payload)
    return struct.pack('<HH', n, t) + payload + b'\0' * ((4 - n % 4) % 4)

def u8(v): return struct.pack('<B', v)
def u16(v): return struct.pack('<H', v)
def u32(v): return struct.pack('<I', v)
def be16(v): return struct.pack('>H', v)
def s(v): return v.encode() + b'\0'

IFLA_ADDRESS, IFLA_BROADCAST, IFLA_IFNAME, IFLA_MTU, IFLA_LINK, IFLA_TXQLEN, IFLA_OPERSTATE, IFLA_LINKINFO, IFLA_LINK_NETNSID = 1, 2, 3, 4, 5, 13, 16, 18, 37
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
RTM_NEWLINK = 16
IFF = 0x1 | 0x2 | 0x40 | 0x1000 | 0x10000  # UP BROADCAST RUNNING MULTICAST LOWER_UP
OPER_UP = 6

def newlink(index, name, mtu, parent, mac, kind, data, seq=0x6b0c884d, pid=4242, netnsid=None):
    attrs = nla(IFLA_IFNAME, s(name)) + nla(IFLA_TXQLEN, u32(1000)) + nla(IFLA_OPERSTATE, u8(OPER_UP)) + nla(IFLA_MTU, u32(mtu))
    attrs += nla(IFLA_LINK, u32(parent))
    attrs += nla(IFLA_ADDRESS, bytes(mac)) + nla(IFLA_BROADCAST, b'\xff' * 6)
    attrs += nla(IFLA_LINKINFO, nla(IFLA_INFO_KIND, s(kind)) + nla(IFLA_INFO_DATA, data))
    if netnsid is not None:
        attrs += nla(IFLA_LINK_NETNSID, u32(netnsid))
    body = struct.pack('<BBHiII', 0, 0, 1, index, IFF, 0) + attrs
    return struct.pack('<IHHII', 16 + len(body), RTM_NEWLINK, 0, seq, pid) + body

def dump(path, comment, message):
    with open(path, 'w') as f:
        f.write(f'0 recvmsg(3, {comment}) = {len(message)}\n * {len(message)} bytes in buffer 0\n')
        for off in range(0, len(message), 16):
            chunk = message[off:off + 16]
            hexpart = ' '.join(f'{b:02x}' for b in chunk[:8]) + '  ' + ' '.join(f'{b:02x}' for b in chunk[8:])
            text = ''.join(chr(b) if 32 <= b < 127 else '.' for b in chunk)
            f.write(f' | {off:05x}  {hexpart:<49} {text:<16} |\n')

os.chdir(os.path.dirname(os.path.abspath(__file__)))
os.makedirs('replies', exist_ok=True)
vlan_data = nla(5, be16(0x8100)) + nla(1, u16(42)) + nla(2, u32(1) + u32(0xffffffff))  # protocol 802.1Q, id 42, flags REORDER_HDR
dump('replies/link-get-vlan.strace', 'constructed by construct-link-kinds.py: eth0@if2 vlan id 42 in a pod, master in the host (netnsid 0)',
     newlink(3, 'eth0', 1400, 2, [0x02, 0x42, 0xac, 0x11, 0x00, 0x02], 'vlan', vlan_data, netnsid=0))
ipvlan_data = nla(1, u16(1)) + nla(2, u16(0))  # mode l3, flags bridge (0)
dump('replies/link-get-ipvlan.strace', 'constructed by construct-link-kinds.py: net1@dm0 ipvlan mode l3 bridge, master in the same namespace',
     newlink(4, 'net1', 1450, 2, [0x02, 0x00, 0x00, 0x00, 0x00, 0x07], 'ipvlan', ipvlan_data))
print('written replies/link-get-vlan.strace and replies/link-get-ipvlan.strace')
