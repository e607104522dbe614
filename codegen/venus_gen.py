#!/usr/bin/env python3
"""Generate PearVisor's Venus protocol codecs from vk.xml and venus_protocol.xml.

Usage: venus_gen.py [--vk-xml PATH] [--protocol PATH] [--out DIR]

Standard library only. Output is deterministic: everything is emitted in
command-id order or sorted by name. See codegen/README.md for the wire rules
this encodes.
"""

import argparse
import hashlib
import os
import re
import sys
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
# Longer than any chain a real client builds (the features query chains one
# struct per supported extension), short enough to bound recursion.
PNEXT_MAX_DEPTH = 256

# Types whose wire form is fixed by the protocol (section 3.1 of venus-wire.md).
SCALAR4 = {'uint32_t', 'int32_t', 'int', 'float', 'VkBool32', 'VkSampleMask', 'VkFlags'}
SCALAR8 = {'uint64_t', 'int64_t', 'VkDeviceSize', 'VkDeviceAddress', 'VkFlags64', 'double'}
SMALL = {'uint8_t': 1, 'int8_t': 1, 'uint16_t': 2, 'int16_t': 2}
# The tag the encoder picks for each union (the decoder accepts every tag).
UNION_DEFAULT_TAG = {'VkClearColorValue': 2, 'VkClearValue': 0}


def die(msg):
    sys.stderr.write('venus_gen: %s\n' % msg)
    sys.exit(1)


def api_ok(el):
    api = el.get('api')
    return api is None or 'vulkan' in api.split(',')


def sha256(path):
    with open(path, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


# --------------------------------------------------------------------------
# Registry model
# --------------------------------------------------------------------------

class Decl:
    """A struct member or a command parameter."""

    def __init__(self, el):
        self.optional_attr = el.get('optional', '')
        self.optional = self.optional_attr.split(',')[0] == 'true'
        self.noautovalidity = el.get('noautovalidity') == 'true'
        self.len = el.get('len')
        self.altlen = el.get('altlen')
        self.values = el.get('values')
        # a uint64_t holding a handle whose VkObjectType is the sibling named here
        self.objecttype = el.get('objecttype')
        prefix = el.text or ''
        t = el.find('type')
        n = el.find('name')
        self.type = t.text
        self.ptr_tail = (t.tail or '')
        self.name = n.text
        after = n.tail or ''
        en = el.find('enum')
        if en is not None:
            after += en.text + (en.tail or '')
        self.const = 'const' in prefix
        self.nptr = self.ptr_tail.count('*')
        self.inner_const = 'const' in self.ptr_tail
        dims = re.findall(r'\[([^\]]+)\]', after)
        if ':' in after.split('[')[0]:
            self.bitfield = True
        else:
            self.bitfield = False
        self.dims = dims
        self.prefix = prefix

    def c_decl(self, name=None, drop_array_const=False):
        name = name or self.name
        pre = self.prefix.strip()
        if drop_array_const and self.dims and self.nptr == 0:
            pre = pre.replace('const', '').strip()
        s = (pre + ' ' if pre else '') + self.type + self.ptr_tail.rstrip()
        if not self.ptr_tail.strip():
            s += ' '
        s += name + ''.join('[%s]' % d for d in self.dims)
        return re.sub(r'\s+', ' ', s).replace(' *', '*').replace('*', '* ').replace('*  ', '* ').replace('* *', '**').replace('* const', '* const').strip()


class Struct:
    def __init__(self, el, union=False):
        self.name = el.get('name')
        self.union = union
        self.extends = [x for x in (el.get('structextends') or '').split(',') if x]
        self.returnedonly = el.get('returnedonly') == 'true'
        self.members = [Decl(m) for m in el.findall('member') if api_ok(m)]
        self.stype = None
        for m in self.members:
            if m.name == 'sType' and m.values:
                self.stype = m.values
        self.has_pnext = any(m.name == 'pNext' for m in self.members)


class Command:
    def __init__(self, el):
        proto = el.find('proto')
        self.ret = proto.find('type').text
        self.name = proto.find('name').text
        self.params = [Decl(p) for p in el.findall('param') if api_ok(p)]


class Registry:
    def __init__(self, vk_path, proto_path):
        self.vk_path = vk_path
        self.proto_path = proto_path
        vk = ET.parse(vk_path).getroot()
        pr = ET.parse(proto_path).getroot()
        self.cats = {}        # type name -> category
        self.alias = {}       # alias type name -> target
        self.structs = {}
        self.handles = {}     # name -> (dispatchable, objtype enum)
        self.bitmask64 = set()
        self.enum64 = set()
        self.platform = set()     # types from platform headers (HANDLE, zx_handle_t, ...)
        self.host_basetypes = set()  # basetypes that are host pointers or objects
        self.commands = {}
        self.cmd_alias = {}
        self.header_version = None
        self.header_complete = (1, 0)
        for t in vk.find('types').findall('type'):
            self._add_type(t)
        for t in pr.find('types').findall('type'):
            self._add_type(t)
        for e in vk.findall('enums'):
            if e.get('bitwidth') == '64':
                self.enum64.add(e.get('name'))
        for c in vk.find('commands').findall('command'):
            if not api_ok(c):
                continue
            if c.get('alias'):
                self.cmd_alias[c.get('name')] = c.get('alias')
            else:
                cmd = Command(c)
                self.commands[cmd.name] = cmd
        for c in pr.find('commands').findall('command'):
            cmd = Command(c)
            self.commands[cmd.name] = cmd
        self.venus_commands = set(Command(c).name for c in pr.find('commands').findall('command'))
        self.venus_structs = set(t.get('name') for t in pr.find('types').findall('type') if t.get('category') == 'struct')
        for t in vk.find('types').findall('type'):
            if (t.get('category') == 'define' and api_ok(t) and t.find('name') is not None
                    and t.find('name').text == 'VK_HEADER_VERSION'):
                self.header_version = re.search(r'(\d+)\s*$', ''.join(t.itertext()).strip()).group(1)
            if (t.get('category') == 'define' and api_ok(t) and t.find('name') is not None
                    and t.find('name').text == 'VK_HEADER_VERSION_COMPLETE'):
                m = re.search(r'\(\s*0\s*,\s*(\d+)\s*,\s*(\d+)\s*,', ''.join(t.itertext()))
                self.header_complete = (int(m.group(1)), int(m.group(2)))
        self.info = pr.find('info').attrib
        self.proto_root = pr
        self.ids = [(c.get('name'), int(c.get('value'))) for c in pr.find('command_ids')]
        self.unsupported = {c.get('name'): c.get('reason') for c in pr.find('unsupported')}
        # The client's table, and the part of it we carry (codecs, capset mask,
        # advertised extensions): all but <not_carried>.
        self.client_extensions = [(e.get('name'), int(e.get('number')), int(e.get('spec_version')))
                                  for e in pr.find('extensions')]
        self.not_carried = {e.get('name'): e.get('reason') for e in pr.find('not_carried')}
        for n in self.not_carried:
            if n not in set(x for x, _, _ in self.client_extensions):
                die('not_carried %s is not in the extension table' % n)
        self.extensions = [x for x in self.client_extensions if x[0] not in self.not_carried]
        # What the decoders speak: the older of this vk.xml and the client's protocol.
        reg_ver = tuple(int(x) for x in self.registry_version().split('.'))
        proto_ver = tuple(int(x) for x in self.info['vk_xml_version'].split('.'))
        self.vk_xml_version = min(reg_ver, proto_ver)
        self.max_core = self.vk_xml_version[:2]
        self._available(vk)

    def registry_version(self):
        """Version of this vk.xml, from VK_HEADER_VERSION_COMPLETE and VK_HEADER_VERSION."""
        return '%d.%d.%s' % (self.header_complete[0], self.header_complete[1], self.header_version)

    def _add_type(self, t):
        if not api_ok(t):
            return
        cat = t.get('category')
        name = t.get('name') or (t.find('name').text if t.find('name') is not None else None)
        if name is None:
            return
        if cat is None and t.get('requires') not in (None, 'vk_platform'):
            self.platform.add(name)
        if cat == 'basetype':
            text = ''.join(t.itertext())
            if '*' in text or 'struct' in text or 'OBJC' in text:
                self.host_basetypes.add(name)
        if t.get('alias'):
            self.alias[name] = t.get('alias')
            self.cats[name] = cat
            return
        self.cats[name] = cat
        if cat in ('struct', 'union'):
            self.structs[name] = Struct(t, cat == 'union')
        elif cat == 'handle':
            inner = t.find('type').text
            self.handles[name] = (inner == 'VK_DEFINE_HANDLE', t.get('objtypeenum'))
        elif cat == 'bitmask':
            inner = t.find('type')
            if inner is not None and inner.text == 'VkFlags64':
                self.bitmask64.add(name)

    def canon(self, name):
        seen = 0
        while name in self.alias:
            name = self.alias[name]
            seen += 1
            if seen > 8:
                die('alias loop at %s' % name)
        return name

    def canon_cmd(self, name):
        while name in self.cmd_alias:
            name = self.cmd_alias[name]
        return name

    def _available(self, vk):
        """Types (and commands) required by core Vulkan up to max_core or by a carried
        extension of the protocol table."""
        names = set('VK_VERSION_%d_%d' % (1, m) for m in range(0, self.max_core[1] + 1))
        names |= set(n for n, _, _ in self.extensions)
        self.avail_names = names
        known = set(e.get('name') for e in vk.find('extensions').findall('extension'))
        for n, num, _ in self.extensions:
            if n not in known and n not in ('VK_EXT_command_serialization', 'VK_MESA_venus_protocol'):
                die('extension %s is not in this vk.xml; list it under not_carried' % n)

        def dep_ok(expr):
            if not expr:
                return True
            # ',' is OR, '+' is AND, parentheses group.
            toks = re.findall(r'[A-Za-z0-9_:]+|[,+()]', expr)
            pos = [0]

            def parse_or():
                v = parse_and()
                while pos[0] < len(toks) and toks[pos[0]] == ',':
                    pos[0] += 1
                    v = parse_and() or v
                return v

            def parse_and():
                v = parse_atom()
                while pos[0] < len(toks) and toks[pos[0]] == '+':
                    pos[0] += 1
                    v = parse_atom() and v
                return v

            def parse_atom():
                t = toks[pos[0]]
                pos[0] += 1
                if t == '(':
                    v = parse_or()
                    pos[0] += 1
                    return v
                return t.split('::')[0] in names
            return parse_or()

        # Every type Vulkan (not Vulkan SC) defines, whatever the version or
        # extension: the sTypes our headers have.
        self.vulkan_types = set()
        for f in vk.findall('feature'):
            if api_ok(f):
                for r in f.findall('require'):
                    if api_ok(r):
                        self.vulkan_types |= set(self.canon(t.get('name')) for t in r.findall('type'))
        for e in vk.find('extensions').findall('extension'):
            if 'vulkan' in (e.get('supported') or '').split(','):
                for r in e.findall('require'):
                    if api_ok(r):
                        self.vulkan_types |= set(self.canon(t.get('name')) for t in r.findall('type'))
        avail = set()
        cmds = set()
        for f in vk.findall('feature'):
            if not api_ok(f):
                continue
            num = tuple(int(x) for x in f.get('number').split('.'))
            if num > self.max_core:
                continue
            for r in f.findall('require'):
                if api_ok(r) and dep_ok(r.get('depends')):
                    for t in r.findall('type'):
                        avail.add(self.canon(t.get('name')))
                    for c in r.findall('command'):
                        cmds.add(self.canon_cmd(c.get('name')))
        for e in vk.find('extensions').findall('extension'):
            if e.get('name') not in names:
                continue
            for r in e.findall('require'):
                if api_ok(r) and dep_ok(r.get('depends')):
                    for t in r.findall('type'):
                        avail.add(self.canon(t.get('name')))
                    for c in r.findall('command'):
                        cmds.add(self.canon_cmd(c.get('name')))
        avail |= self.venus_structs
        self.avail = avail
        # An id whose command neither core up to max_core nor a carried extension
        # provides carries no codecs here (the client only sends it for an extension
        # we do not advertise).
        for name, _ in self.ids:
            canon = self.canon_cmd(name)
            if canon not in self.venus_commands and canon not in cmds and name not in self.unsupported:
                self.unsupported[name] = 'its extension is not carried'


# --------------------------------------------------------------------------
# Wire classification
# --------------------------------------------------------------------------

class Gen:
    def __init__(self, reg):
        self.reg = reg
        self.cmds = []          # (primary name, id, canonical Command) in id order
        self.id_names = {}
        for name, v in reg.ids:
            self.id_names.setdefault(v, []).append(name)
        for v in sorted(self.id_names):
            primary = self.id_names[v][0]
            canon = reg.canon_cmd(primary)
            if canon not in reg.commands:
                die('command %s (%d) not in vk.xml' % (primary, v))
            self.cmds.append((primary, v, reg.commands[canon]))
        self.structs = set()
        self.partial = set()    # structs needed in partial form
        self.roots = {}         # root struct -> sorted list of chain structs
        self._scope()

    # -- type helpers ------------------------------------------------------
    def kind(self, t):
        r = self.reg
        t = r.canon(t)
        if t in SCALAR4 or t in SCALAR8 or t in SMALL or t == 'size_t':
            return 'scalar'
        cat = r.cats.get(t)
        if cat in ('enum',):
            return 'scalar'
        if cat == 'bitmask' or cat == 'basetype':
            return 'scalar'
        if cat == 'handle':
            return 'handle'
        if cat == 'struct':
            return 'struct'
        if cat == 'union':
            return 'union'
        if t == 'char':
            return 'char'
        if t == 'void':
            return 'void'
        if cat == 'funcpointer':
            return 'pfn'
        die('unknown type %s' % t)

    def scalar_size(self, t):
        r = self.reg
        t = r.canon(t)
        if t in SMALL:
            return SMALL[t]
        if t in SCALAR8 or t in r.bitmask64 or t in r.enum64 or t == 'size_t':
            return 8
        if t in SCALAR4 or r.cats.get(t) in ('enum', 'bitmask'):
            return 4
        if r.cats.get(t) == 'basetype':
            if t in ('VkBool32', 'VkSampleMask', 'VkFlags'):
                return 4
            if t in ('VkDeviceSize', 'VkDeviceAddress', 'VkFlags64'):
                return 8
        die('no wire size for %s' % t)

    # -- what must never cross the wire ------------------------------------
    def host_decl_reason(self, d):
        """Why a member or parameter carries something only the host can give
        meaning to (a file descriptor, a platform handle, a host address), or
        None. No client value of such a kind may reach the host driver."""
        r = self.reg
        t = r.canon(d.type)
        if t == 'int':
            return 'a file descriptor'
        if t in r.platform:
            return 'a platform handle (%s)' % t
        if t in r.host_basetypes:
            return 'a host object (%s)' % t
        if t == 'void' and d.nptr and d.name != 'pNext' and not (d.len or d.altlen):
            return 'a host address'
        return None

    def host_struct_reason(self, sname):
        st = self.reg.structs[sname]
        for m in st.members:
            why = self.host_decl_reason(m)
            if why:
                return '%s.%s is %s' % (sname, m.name, why)
        return None

    # -- scope -------------------------------------------------------------
    def extenders(self, root):
        r = self.reg
        for s in sorted(r.structs):
            st = r.structs[s]
            if st.stype and any(r.canon(x) == root for x in st.extends):
                yield s

    def chain_of(self, root):
        """The structs a pNext chain of root may carry: its available
        extenders, minus those that carry host handles (refused_of)."""
        if root in self.roots:
            return self.roots[root]
        r = self.reg
        out = [s for s in self.extenders(root)
               if s in r.avail and not self.host_struct_reason(s)]
        self.roots[root] = out
        return out

    def refused_of(self, root):
        """Extenders of root (available or not) that carry a file descriptor,
        a platform handle or a host address: a decoder that meets one makes
        the stream fatal with that reason, whatever the extension list says."""
        return [s for s in self.extenders(root)
                if s in self.reg.vulkan_types and self.host_struct_reason(s)]

    def _visit(self, sname, partial):
        r = self.reg
        sname = r.canon(sname)
        if partial:
            if sname in self.partial:
                return
            self.partial.add(sname)
        if sname in self.structs and not partial:
            return
        why = self.host_struct_reason(sname)
        if why:
            die('%s: no client value of it may reach the host; refuse it in a handler '
                '(or list the command as unsupported)' % why)
        self.structs.add(sname)
        st = r.structs[sname]
        for m in st.members:
            if m.name in ('sType', 'pNext'):
                continue
            if m.bitfield:
                die('bitfield member %s.%s' % (sname, m.name))
            k = self.kind(m.type)
            if k in ('struct', 'union'):
                self._visit(m.type, partial)
            if k == 'pfn':
                die('function pointer member %s.%s' % (sname, m.name))
        if st.has_pnext:
            for ext in self.chain_of(sname):
                self._visit(ext, partial)

    def _scope(self):
        for primary, v, cmd in self.cmds:
            if primary in self.reg.unsupported:
                continue
            for p in cmd.params:
                if p.name == 'pAllocator':
                    continue  # always sent as NULL
                why = self.host_decl_reason(p)
                if why:
                    die('%s.%s is %s: list %s in <unsupported> of venus_protocol.xml'
                        % (primary, p.name, why, primary))
                k = self.kind(p.type)
                if k in ('struct', 'union'):
                    out = self.is_output(p)
                    self._visit(p.type, False)
                    if out:
                        self._visit(p.type, True)
        # chain members of every root reached
        changed = True
        while changed:
            n = (len(self.structs), len(self.partial))
            for s in sorted(self.structs):
                if self.reg.structs[s].has_pnext:
                    for e in self.chain_of(s):
                        self._visit(e, False)
            for s in sorted(self.partial):
                if self.reg.structs[s].has_pnext:
                    for e in self.chain_of(s):
                        self._visit(e, True)
            changed = n != (len(self.structs), len(self.partial))

    def is_output(self, p):
        """A non-const pointer parameter is an output (the pointee is written)."""
        return p.nptr >= 1 and not p.const and p.name != 'pNext'

    # -- len expressions ---------------------------------------------------
    def len_expr(self, d, siblings, base):
        """C expression for the element count of `d`; names resolve against `siblings`."""
        expr = d.altlen or d.len
        if expr is None:
            return None
        parts = expr.split(',')
        expr = parts[0]
        if expr == 'null-terminated':
            return None
        byname = {s.name: s for s in siblings}

        def repl(m):
            ident = m.group(1)
            rest = m.group(2) or ''
            if ident not in byname:
                return m.group(0)
            sd = byname[ident]
            if rest:
                # pointer to a struct: a->pInfo->count
                return '(%s%s ? %s%s%s : 0)' % (base, ident, base, ident, rest)
            if sd.nptr:
                return '(%s%s ? *%s%s : 0)' % (base, ident, base, ident)
            return '%s%s' % (base, ident)
        out = re.sub(r'\b([A-Za-z_][A-Za-z0-9_]*)((?:->[A-Za-z_][A-Za-z0-9_]*)*)', repl, expr)
        return '(uint64_t)(%s)' % out

    def len_targets(self, decls):
        """Names of siblings used as a count by another sibling."""
        out = set()
        names = set(d.name for d in decls)
        for d in decls:
            expr = d.altlen or d.len
            if not expr or (d.dims and not d.nptr):
                # newer vk.xml puts len= on fixed arrays (memoryTypes[32] has
                # len="memoryTypeCount"); their wire size is the fixed one and
                # the count stays an ordinary (output) scalar
                continue
            for ident in re.findall(r'\b([A-Za-z_][A-Za-z0-9_]*)\b', expr):
                if ident in names and ident != d.name:
                    out.add(ident)
        return out


# --------------------------------------------------------------------------
# C emission helpers
# --------------------------------------------------------------------------

class W:
    def __init__(self):
        self.lines = []
        self.ind = 0

    def __call__(self, s=''):
        if s:
            self.lines.append('    ' * self.ind + s)
        else:
            self.lines.append('')

    def text(self):
        return '\n'.join(self.lines) + '\n'


def objtype(reg, t):
    return reg.handles[reg.canon(t)][1]


class Emitter:
    """Emits codec statements for one declaration.

    Modes: decoders take 'full' (input data, allocate, look handles up),
    'partial' (output data as the client sends it: allocate, keep raw ids)
    and 'into' (replies decoded into caller storage, raw ids); encoders take
    'full' and 'partial'.
    """

    def __init__(self, gen):
        self.g = gen
        self.r = gen.reg
        self.tmp = 0

    def t(self, p='t'):
        self.tmp += 1
        return '%s%d' % (p, self.tmp)

    def ctype(self, t):
        return self.r.canon(t)

    # ---- decode ----------------------------------------------------------
    def dec_scalar(self, w, t, lv):
        sz = self.g.scalar_size(t)
        ct = self.ctype(t)
        if ct == 'size_t':
            v = self.t('u')
            w('{ uint64_t %s = 0; pv_cs_dec_read(dec, &%s, 8); %s = (size_t)%s; }' % (v, v, lv, v))
        else:
            w('pv_cs_dec_read(dec, &%s, %d);' % (lv, sz))

    def dec_handle(self, w, t, lv, mode, idlv=None):
        v = self.t('id')
        w('{')
        w('    uint64_t %s = 0;' % v)
        w('    pv_cs_dec_read(dec, &%s, 8);' % v)
        if idlv:
            w('    %s = %s;' % (idlv, v))
        if mode == 'full':
            w('    if (!pvg_dec_handle(dec, %s, %s, &%s)) return false;' % (v, objtype(self.r, t), v))
        w('    %s = (%s)(uintptr_t)%s;' % (lv, self.ctype(t), v))
        w('}')

    def dec_object_handle(self, w, d, siblings, base, lv):
        """A handle given as a uint64_t whose type is a VkObjectType sibling
        (private data, debug-utils names): translated like any handle, with
        the type the client names; 0, an unknown id or another type is fatal."""
        names = [x.name for x in siblings]
        if d.objecttype not in names or names.index(d.objecttype) > names.index(d.name):
            die('%s: its objecttype %s is not a sibling decoded before it' % (d.name, d.objecttype))
        td = siblings[names.index(d.objecttype)]
        if self.r.canon(td.type) != 'VkObjectType' or td.nptr or td.dims:
            die('%s: its objecttype %s is a %s, not a VkObjectType' % (d.name, td.name, td.type))
        w('if (!pvg_dec_object_handle(dec, %s%s, &%s)) return false;' % (base, td.name, lv))

    def dec_struct_call(self, w, t, lv_ptr, mode, root=None):
        t = self.ctype(t)
        if self.r.cats.get(t) == 'union':
            w('if (!pvg_dec_union_%s(dec, %s)) return false;' % (t, lv_ptr))
        else:
            w('if (!pvgi_dec_%s(dec, %s, PVG_MODE_%s, depth)) return false;' % (t, lv_ptr, mode.upper()))

    def dec_elem(self, w, d, t, lv, mode, n_or_none=None):
        """Decode one element of type t into lvalue lv."""
        k = self.g.kind(t)
        if k == 'scalar':
            self.dec_scalar(w, t, lv)
        elif k == 'handle':
            self.dec_handle(w, t, lv, mode)
        elif k in ('struct', 'union'):
            self.dec_struct_call(w, t, '&' + lv, mode)
        else:
            die('cannot decode element %s of %s' % (t, d.name))

    def elem_sends(self, t, mode):
        """In partial mode, does an element of t carry bytes?"""
        if mode != 'partial':
            return True
        k = self.g.kind(t)
        return k in ('struct', 'union', 'handle')

    def dec_decl(self, w, d, siblings, base, mode, is_len_target=False, id_field=None, out_param=False):
        """Emit decoding of declaration d into `base + d.name`."""
        lv = base + d.name
        k = self.g.kind(d.type)
        sib = siblings
        if d.name == 'pNext':
            return  # handled by the struct code
        if d.nptr == 0 and not d.dims:
            if mode == 'partial' and k == 'scalar' and not is_len_target:
                return
            if k == 'scalar':
                self.dec_scalar(w, d.type, lv)
                if d.objecttype and mode == 'full':
                    self.dec_object_handle(w, d, sib, base, lv)
            elif k == 'handle':
                self.dec_handle(w, d.type, lv, mode, id_field)
            elif k in ('struct', 'union'):
                self.dec_struct_call(w, d.type, '&' + lv, mode)
            else:
                die('decl %s' % d.name)
            return
        if d.nptr == 0 and d.dims:
            if len(d.dims) != 1:
                die('multi-dim array %s' % d.name)
            n = d.dims[0]
            if mode == 'partial' and not self.elem_sends(d.type, mode):
                return
            w('if (!pvg_dec_size_eq(dec, %s)) return false;' % n)
            if k == 'char' or (k == 'scalar' and self.g.scalar_size(d.type) == 1):
                w('pv_cs_dec_read(dec, %s, %s);' % (lv, n))
                if k == 'char' and mode == 'full':
                    w('if (!pvg_dec_check_str(dec, %s, %s)) return false;' % (lv, n))
                elif k == 'char':
                    w('%s[%s - 1] = 0;' % (lv, n))
                return
            if k == 'scalar' and self.g.scalar_size(d.type) in (4, 8) and self.ctype(d.type) != 'size_t':
                w('pv_cs_dec_read(dec, %s, sizeof(%s));' % (lv, lv))
                return
            i = self.t('i')
            w('for (uint32_t %s = 0; %s < %s; %s++) {' % (i, i, n, i))
            w.ind += 1
            self.dec_elem(w, d, d.type, '%s[%s]' % (lv, i), mode)
            w.ind -= 1
            w('}')
            return
        # pointers
        ct = self.ctype(d.type)
        lenx = self.g.len_expr(d, sib, base)
        is_str = k == 'char' and d.nptr == 1
        is_strarr = k == 'char' and d.nptr == 2
        checked = not (d.optional or d.noautovalidity)
        if is_str:
            if mode != 'full':
                die('string in output %s' % d.name)
            w('if (!pvg_dec_string(dec, (const char **)&%s)) return false;' % lv)
            return
        if is_strarr:
            if mode != 'full':
                die('string array in output %s' % d.name)
            w('if (!pvg_dec_string_array(dec, (const char *const **)&%s, %s, %s)) return false;' % (lv, lenx, 'true' if checked else 'false'))
            return
        if k == 'void' and lenx is None:
            die('void pointer without len: %s' % d.name)
        if lenx is None:
            # simple pointer
            if d.nptr != 1:
                die('pointer depth %s' % d.name)
            w('if (pvg_dec_present(dec)) {')
            w.ind += 1
            if mode == 'into':
                w('if (!%s) { pv_cs_dec_set_fatal(dec, "reply carries an output the caller did not ask for"); return false; }' % lv)
                p = '((%s *)%s)' % (ct, lv)
            else:
                p = self.t('p')
                w('%s *%s = pv_cs_dec_alloc(dec, 1, sizeof(*%s));' % (ct, p, p))
                w('if (!%s) return false;' % p)
                w('%s = %s;' % (lv, p))
            if mode == 'partial' and k == 'scalar' and not is_len_target:
                pass  # output-only value: the client sends presence only
            elif k == 'scalar':
                self.dec_scalar(w, d.type, '*' + p)
            elif k == 'handle':
                self.dec_handle(w, d.type, '*' + p, mode)
            elif k in ('struct', 'union'):
                self.dec_struct_call(w, d.type, p, mode)
            else:
                die('simple pointer to %s' % ct)
            w.ind -= 1
            w('} else {')
            if mode != 'into':
                w('    %s = NULL;' % lv)
            if checked:
                w('    pv_cs_dec_set_fatal(dec, "required pointer is NULL"); return false;')
            w('}')
            return
        # arrays
        if d.nptr != 1:
            die('array of pointers %s' % d.name)
        # The size is read once: a stream in shared memory can change under us.
        n = self.t('n')
        sz = self.t('s')
        w('uint64_t %s = 0;' % sz)
        w('if (!pv_cs_dec_read(dec, &%s, 8)) return false;' % sz)
        w('if (%s) {' % sz)
        w.ind += 1
        w('uint64_t %s = %s;' % (n, lenx))
        w('if (%s != %s) { pv_cs_dec_set_fatal(dec, "array size does not match its count"); return false; }' % (sz, n))
        # Elements that travel take at least one (bytes) or four bytes each:
        # refuse a count the rest of the stream cannot hold before allocating.
        # (Only for input data: output arrays travel as a count alone.)
        if mode == 'full':
            least = 1 if (k == 'void' or (k == 'scalar' and self.g.scalar_size(d.type) == 1)) else 4
            w('if (%s > pv_cs_dec_remaining(dec) / %d) { pv_cs_dec_set_fatal(dec, "array longer than the stream"); return false; }' % (n, least))
        if k == 'void':
            if mode == 'into':
                w('if (!%s) { pv_cs_dec_set_fatal(dec, "reply carries an output the caller did not ask for"); return false; }' % lv)
                w('pv_cs_dec_read(dec, (void *)%s, (size_t)%s);' % (lv, n))
            else:
                p = self.t('p')
                w('void *%s = pv_cs_dec_alloc(dec, (size_t)%s, 1);' % (p, n))
                w('if (!%s) return false;' % p)
                if mode == 'full':
                    w('pv_cs_dec_read(dec, %s, (size_t)%s);' % (p, n))
                w('%s = %s;' % (lv, p))
        else:
            if mode == 'into':
                w('if (!%s) { pv_cs_dec_set_fatal(dec, "reply carries an output the caller did not ask for"); return false; }' % lv)
                p = '((%s *)%s)' % (ct, lv)
            else:
                p = self.t('p')
                w('%s *%s = pv_cs_dec_alloc(dec, (size_t)%s, sizeof(*%s));' % (ct, p, n, p))
                w('if (!%s) return false;' % p)
                w('%s = %s;' % (lv, p))
            if mode == 'partial' and not self.elem_sends(d.type, mode):
                pass
            elif k == 'scalar' and self.g.scalar_size(d.type) in (4, 8) and ct != 'size_t':
                w('pv_cs_dec_read(dec, %s, (size_t)%s * sizeof(*%s));' % (p, n, p))
            elif k == 'scalar' and self.g.scalar_size(d.type) == 1:
                w('pv_cs_dec_read(dec, %s, (size_t)%s);' % (p, n))
            else:
                i = self.t('i')
                w('for (uint64_t %s = 0; %s < %s; %s++) {' % (i, i, n, i))
                w.ind += 1
                self.dec_elem(w, d, d.type, '%s[%s]' % (p, i), mode)
                w.ind -= 1
                w('}')
        w.ind -= 1
        w('} else {')
        w.ind += 1
        if checked and mode == 'full':
            w('if (%s) { pv_cs_dec_set_fatal(dec, "array size does not match its count"); return false; }' % lenx)
        if mode != 'into':
            w('%s = NULL;' % lv)
        w.ind -= 1
        w('}')

    # ---- encode ----------------------------------------------------------
    def enc_scalar(self, w, t, rv):
        sz = self.g.scalar_size(t)
        ct = self.ctype(t)
        if ct == 'size_t':
            w('{ uint64_t v = (uint64_t)(%s); pv_cs_enc_write(enc, &v, 8); }' % rv)
        else:
            w('pv_cs_enc_write(enc, &%s, %d);' % (rv, sz))

    def enc_handle(self, w, rv):
        w('{ uint64_t v = (uint64_t)(uintptr_t)(%s); pv_cs_enc_write(enc, &v, 8); }' % rv)

    def enc_struct_call(self, w, t, rv_ptr, mode):
        t = self.ctype(t)
        if self.r.cats.get(t) == 'union':
            w('if (!pvg_enc_union_%s(enc, %s)) return false;' % (t, rv_ptr))
        else:
            w('if (!pvgi_enc_%s(enc, %s, %s, depth)) return false;' % (t, rv_ptr, 'true' if mode == 'partial' else 'false'))

    def enc_elem(self, w, t, rv, mode):
        k = self.g.kind(t)
        if k == 'scalar':
            self.enc_scalar(w, t, rv)
        elif k == 'handle':
            self.enc_handle(w, rv)
        elif k in ('struct', 'union'):
            self.enc_struct_call(w, t, '&' + rv, mode)
        else:
            die('cannot encode %s' % t)

    def enc_decl(self, w, d, siblings, base, mode, is_len_target=False):
        rv = base + d.name
        k = self.g.kind(d.type)
        if d.name == 'pNext':
            return
        ct = self.ctype(d.type)
        if d.nptr == 0 and not d.dims:
            if mode == 'partial' and k == 'scalar' and not is_len_target:
                return
            self.enc_elem(w, d.type, rv, mode)
            return
        if d.nptr == 0 and d.dims:
            n = d.dims[0]
            if mode == 'partial' and not self.elem_sends(d.type, mode):
                return
            w('pvg_enc_size(enc, %s);' % n)
            if k == 'char' or (k == 'scalar' and self.g.scalar_size(d.type) == 1):
                w('pv_cs_enc_write(enc, %s, %s);' % (rv, n))
                return
            if k == 'scalar' and self.g.scalar_size(d.type) in (4, 8) and ct != 'size_t':
                w('pv_cs_enc_write(enc, %s, sizeof(%s));' % (rv, rv))
                return
            i = self.t('i')
            w('for (uint32_t %s = 0; %s < %s; %s++) {' % (i, i, n, i))
            w.ind += 1
            self.enc_elem(w, d.type, '%s[%s]' % (rv, i), mode)
            w.ind -= 1
            w('}')
            return
        lenx = self.g.len_expr(d, siblings, base)
        if k == 'char' and d.nptr == 1:
            w('pvg_enc_string(enc, %s);' % rv)
            return
        if k == 'char' and d.nptr == 2:
            w('pvg_enc_string_array(enc, %s, %s);' % (rv, lenx))
            return
        if lenx is None:
            w('if (pvg_enc_present(enc, %s)) {' % rv)
            w.ind += 1
            if mode == 'partial' and k == 'scalar' and not is_len_target:
                pass
            elif k in ('struct', 'union'):
                self.enc_struct_call(w, d.type, rv, mode)
            else:
                self.enc_elem(w, d.type, '(*%s)' % rv, mode)
            w.ind -= 1
            w('}')
            return
        n = self.t('n')
        w('if (%s) {' % rv)
        w.ind += 1
        w('uint64_t %s = %s;' % (n, lenx))
        w('pvg_enc_size(enc, %s);' % n)
        if mode == 'partial' and not self.elem_sends(d.type, mode):
            pass
        elif k == 'void' or (k == 'scalar' and self.g.scalar_size(d.type) == 1):
            w('pv_cs_enc_write(enc, %s, (size_t)%s);' % (rv, n))
        elif k == 'scalar' and self.g.scalar_size(d.type) in (4, 8) and ct != 'size_t':
            w('pv_cs_enc_write(enc, %s, (size_t)%s * sizeof(*%s));' % (rv, n, rv))
        else:
            i = self.t('i')
            w('for (uint64_t %s = 0; %s < %s; %s++) {' % (i, i, n, i))
            w.ind += 1
            self.enc_elem(w, d.type, '%s[%s]' % (rv, i), mode)
            w.ind -= 1
            w('}')
        w.ind -= 1
        w('} else {')
        w('    pvg_enc_size(enc, 0);')
        w('}')


# --------------------------------------------------------------------------
# File generation
# --------------------------------------------------------------------------

class Files:
    def __init__(self, gen, outdir):
        self.g = gen
        self.r = gen.reg
        self.out = outdir
        vkv = '1.4.%s' % self.r.header_version
        self.stamp = ('/* Generated by codegen/venus_gen.py from vk.xml %s (sha256 %s) and '
                      'codegen/venus_protocol.xml (sha256 %s). Do not edit. */\n'
                      % (vkv, sha256(self.r.vk_path)[:16], sha256(self.r.proto_path)[:16]))

    def write(self, name, body):
        with open(os.path.join(self.out, name), 'w') as f:
            f.write(self.stamp)
            f.write(body)

    # ---- protocol header ---------------------------------------------------
    def protocol_h(self):
        r = self.r
        w = W()
        w('#ifndef PVG_PROTOCOL_GEN_H')
        w('#define PVG_PROTOCOL_GEN_H')
        w()
        w('#include <stdbool.h>')
        w('#include <stddef.h>')
        w('#include <stdint.h>')
        w()
        w('#include <vulkan/vulkan.h>')
        w()
        w('/* The registry version our decoders speak (older of vk.xml and the client protocol),')
        w(' * the client protocol\'s own, and the VK_MESA_venus_protocol spec version we implement. */')
        w('#define PVG_VK_XML_VERSION VK_MAKE_API_VERSION(0, %d, %d, %d)' % r.vk_xml_version)
        w('#define PVG_PROTOCOL_VK_XML_VERSION VK_MAKE_API_VERSION(0, %s)' % ', '.join(r.info['vk_xml_version'].split('.')))
        w('#define PVG_WIRE_FORMAT_VERSION %su' % r.info['wire_format_version'])
        w('#define PVG_VENUS_PROTOCOL_SPEC_VERSION %su' % r.info['spec_version'])
        w('#define PVG_PNEXT_MAX_DEPTH %d' % PNEXT_MAX_DEPTH)
        w()
        w('/* Venus-only types. Vulkan headers do not define VK_MESA_venus_protocol; if')
        w(' * they ever do, theirs win. */')
        w('#ifndef VK_MESA_venus_protocol')
        w('#define VK_MESA_venus_protocol 1')
        for e in r.proto_root.findall('enums'):
            if e.get('name') == 'VkStructureType':
                for v in e.findall('enum'):
                    w('#define %s ((VkStructureType)%s)' % (v.get('name'), v.get('value')))
        for e in r.proto_root.findall('enums'):
            if e.get('name') == 'VkStructureType':
                continue
            w('typedef enum %s {' % e.get('name'))
            for v in e.findall('enum'):
                w('    %s = %s,' % (v.get('name'), v.get('value')))
            w('} %s;' % e.get('name'))
        for t in r.proto_root.find('types').findall('type'):
            if t.get('category') == 'bitmask':
                w('typedef VkFlags %s;' % t.find('name').text)
        for t in r.proto_root.find('types').findall('type'):
            if t.get('category') != 'struct':
                continue
            st = r.structs[t.get('name')]
            w('typedef struct %s {' % st.name)
            for m in st.members:
                w('    %s;' % m.c_decl())
            w('} %s;' % st.name)
        w('#endif /* VK_MESA_venus_protocol */')
        w()
        w('/* VkCommandTypeEXT: one enumerator per id, named after its primary name. */')
        w('enum pvg_command {')
        last = -1
        for primary, v, cmd in self.g.cmds:
            w('    PVG_CMD_%s = %d,' % (primary, v))
            last = v
        w('    PVG_CMD_COUNT = %d,' % (last + 1))
        w('};')
        w()
        w('/* The primary name of a command id; NULL for ids no command uses. */')
        w('const char *pvg_command_name(uint32_t id);')
        w()
        w('struct pvg_extension {')
        w('    const char *name;')
        w('    uint32_t number;')
        w('    uint32_t spec_version;')
        w('};')
        w()
        w('/* The extensions of the client\'s table that we carry, sorted by name (%d of its %d). */'
          % (len(r.extensions), len(r.client_extensions)))
        w('#define PVG_EXTENSION_COUNT %du' % len(r.extensions))
        w('extern const struct pvg_extension pvg_extensions[PVG_EXTENSION_COUNT];')
        w()
        w('#endif /* PVG_PROTOCOL_GEN_H */')
        self.write('pvg_protocol.gen.h', w.text())

    # ---- struct codecs -----------------------------------------------------
    def struct_names(self):
        return sorted(self.g.structs)

    def structs_h(self):
        w = W()
        w('#ifndef PVG_STRUCTS_GEN_H')
        w('#define PVG_STRUCTS_GEN_H')
        w()
        w('#include "pvg_protocol.gen.h"')
        w('#include "cs.h"')
        w()
        w('/*')
        w(' * Struct codecs. Decoders: full = input data (arena-allocated pointees,')
        w(' * handle ids looked up); partial = an output struct as the client sends it')
        w(' * (sType, pNext chain, counts; handles stay raw ids); into = a reply decoded')
        w(' * into caller storage whose pointers and pNext chain are already set up.')
        w(' * Encoders: full (replies, client inputs) and partial (client outputs).')
        w(' * All return false once the decoder/encoder is fatal.')
        w(' */')
        w('enum pvg_mode { PVG_MODE_FULL, PVG_MODE_PARTIAL, PVG_MODE_INTO };')
        w()
        for s in self.struct_names():
            st = self.r.structs[s]
            if st.union:
                w('bool pvg_dec_union_%s(struct pv_cs_dec *dec, %s *val);' % (s, s))
                w('bool pvg_enc_union_%s(struct pv_cs_enc *enc, const %s *val);' % (s, s))
                continue
            w('bool pvgi_dec_%s(struct pv_cs_dec *dec, %s *val, enum pvg_mode mode, unsigned depth);' % (s, s))
            w('bool pvgi_enc_%s(struct pv_cs_enc *enc, const %s *val, bool partial, unsigned depth);' % (s, s))
        w()
        w('/* The public per-struct entry points. */')
        for s in self.struct_names():
            st = self.r.structs[s]
            if st.union:
                continue
            w('static inline bool pvg_decode_%s(struct pv_cs_dec *dec, %s *val) { return pvgi_dec_%s(dec, val, PVG_MODE_FULL, 0); }' % (s, s, s))
            w('static inline bool pvg_encode_%s(struct pv_cs_enc *enc, const %s *val) { return pvgi_enc_%s(enc, val, false, 0); }' % (s, s, s))
            if s in self.g.partial:
                w('static inline bool pvg_decode_%s_partial(struct pv_cs_dec *dec, %s *val) { return pvgi_dec_%s(dec, val, PVG_MODE_PARTIAL, 0); }' % (s, s, s))
                w('static inline bool pvg_encode_%s_partial(struct pv_cs_enc *enc, const %s *val) { return pvgi_enc_%s(enc, val, true, 0); }' % (s, s, s))
                w('static inline bool pvg_decode_%s_into(struct pv_cs_dec *dec, %s *val) { return pvgi_dec_%s(dec, val, PVG_MODE_INTO, 0); }' % (s, s, s))
        w()
        w('#endif /* PVG_STRUCTS_GEN_H */')
        self.write('pvg_structs.gen.h', w.text())

    def structs_c(self):
        r = self.r
        g = self.g
        w = W()
        w('#include "pvg_internal.gen.h"')
        w()
        for s in self.struct_names():
            st = r.structs[s]
            em = Emitter(g)
            if st.union:
                self.union_codec(w, st, em)
                continue
            if st.has_pnext:
                self.chain_codec(w, st)
        for s in self.struct_names():
            st = r.structs[s]
            if st.union:
                continue
            self.struct_codec(w, st)
        self.write('pvg_structs.gen.c', w.text())

    def union_codec(self, w, st, em):
        s = st.name
        w('bool')
        w('pvg_dec_union_%s(struct pv_cs_dec *dec, %s *val)' % (s, s))
        w('{')
        w.ind += 1
        w('unsigned depth = 0;')
        w('(void)depth;')
        w('uint32_t tag = 0;')
        w('if (!pv_cs_dec_read(dec, &tag, 4)) return false;')
        w('switch (tag) {')
        for i, m in enumerate(st.members):
            w('case %d:' % i)
            w.ind += 1
            em.dec_decl(w, m, st.members, 'val->', 'full')
            w('break;')
            w.ind -= 1
        w('default:')
        w('    pv_cs_dec_set_fatal(dec, "unknown union tag");')
        w('    return false;')
        w('}')
        w('return !*dec->fatal;')
        w.ind -= 1
        w('}')
        w()
        tag = UNION_DEFAULT_TAG.get(s)
        if tag is None:
            die('no default tag for union %s' % s)
        w('bool')
        w('pvg_enc_union_%s(struct pv_cs_enc *enc, const %s *val)' % (s, s))
        w('{')
        w.ind += 1
        w('unsigned depth = 0;')
        w('(void)depth;')
        w('const uint32_t tag = %d;' % tag)
        w('pv_cs_enc_write(enc, &tag, 4);')
        em.enc_decl(w, st.members[tag], st.members, 'val->', 'full')
        w('return !*enc->fatal;')
        w.ind -= 1
        w('}')
        w()

    def chain_codec(self, w, st):
        """pNext chain codec for root struct st: the allowed set is st's extenders."""
        r = self.r
        s = st.name
        chain = self.g.chain_of(s)
        refused = self.g.refused_of(s)
        w('static bool')
        w('chain_dec_%s(struct pv_cs_dec *dec, void **out, enum pvg_mode mode, unsigned depth, void *into)' % s)
        w('{')
        w.ind += 1
        w('uint32_t stype = 0;')
        w('(void)into;')
        w('if (!pvg_dec_present(dec)) {')
        w('    if (mode != PVG_MODE_INTO) *out = NULL;')
        w('    return !*dec->fatal;')
        w('}')
        w('if (++depth > PVG_PNEXT_MAX_DEPTH) { pv_cs_dec_set_fatal(dec, "pNext chain too deep"); return false; }')
        w('if (!pv_cs_dec_read(dec, &stype, 4)) return false;')
        if refused:
            # Imports and exports of fds, platform handles and host addresses:
            # never decoded, never passed on, whatever the client enabled.
            w('switch ((int32_t)stype) {')
            for e in refused:
                w('case %s: /* %s */' % (r.structs[e].stype, self.g.host_struct_reason(e)))
            w('    pv_cs_dec_set_fatal(dec, "pNext struct carries a file descriptor, platform handle or host address");')
            w('    return false;')
            w('default:')
            w('    break;')
            w('}')
        if not chain:
            w('pv_cs_dec_set_fatal(dec, "unexpected pNext struct");')
            w('return false;')
        else:
            w('VkBaseOutStructure *node = NULL;')
            w('size_t size = 0;')
            w('switch ((int32_t)stype) {')
            for e in chain:
                w('case %s: size = sizeof(%s); break;' % (r.structs[e].stype, e))
            w('default:')
            w('    pv_cs_dec_set_fatal(dec, "unexpected pNext struct");')
            w('    return false;')
            w('}')
            w('(void)size;')
            w('if (mode == PVG_MODE_INTO) {')
            w('    node = into;')
            w('    while (node && node->sType != (VkStructureType)stype) node = node->pNext;')
            w('    if (!node) { pv_cs_dec_set_fatal(dec, "reply pNext struct not in the caller chain"); return false; }')
            w('} else {')
            w('    node = pv_cs_dec_alloc(dec, 1, size);')
            w('    if (!node) return false;')
            w('    node->sType = (VkStructureType)stype;')
            w('    *out = node;')
            w('}')
            w('if (!chain_dec_%s(dec, (void **)&node->pNext, mode, depth, mode == PVG_MODE_INTO ? node->pNext : NULL)) return false;' % s)
            w('switch ((int32_t)stype) {')
            for e in chain:
                w('case %s: return pvgi_dec_self_%s(dec, (%s *)node, mode, depth);' % (r.structs[e].stype, e, e))
            w('default: return false;')
            w('}')
        w.ind -= 1
        w('}')
        w()
        w('static bool')
        w('chain_enc_%s(struct pv_cs_enc *enc, const void *val, bool partial, unsigned depth)' % s)
        w('{')
        w.ind += 1
        w('const VkBaseInStructure *node = val;')
        w('(void)partial;')
        w('if (++depth > PVG_PNEXT_MAX_DEPTH) { *enc->fatal = true; return false; }')
        w('for (; node; node = node->pNext) {')
        w.ind += 1
        w('switch ((int32_t)node->sType) {')
        for e in chain:
            w('case %s:' % r.structs[e].stype)
            w('    pvg_enc_size(enc, 1);')
            w('    pv_cs_enc_write(enc, &node->sType, 4);')
            w('    if (!chain_enc_%s(enc, node->pNext, partial, depth)) return false;' % s)
            w('    return pvgi_enc_self_%s(enc, (const %s *)node, partial, depth);' % (e, e))
        w('default:')
        w('    break; /* not in this chain\'s set: not sent, as the client does */')
        w('}')
        w.ind -= 1
        w('}')
        w('pvg_enc_size(enc, 0);')
        w('return !*enc->fatal;')
        w.ind -= 1
        w('}')
        w()

    def struct_codec(self, w, st):
        r = self.r
        g = self.g
        s = st.name
        body = [m for m in st.members if m.name not in ('sType', 'pNext')]
        lt = g.len_targets(st.members)
        partial_ok = s in g.partial
        # decode: self part (fields after sType/pNext)
        w('bool')
        w('pvgi_dec_self_%s(struct pv_cs_dec *dec, %s *val, enum pvg_mode mode, unsigned depth)' % (s, s))
        w('{')
        w.ind += 1
        w('(void)val; (void)depth;')
        modes = ['full'] + (['partial', 'into'] if partial_ok else [])
        w('switch (mode) {')
        for mode in ['full', 'partial', 'into']:
            w('case PVG_MODE_%s:' % mode.upper())
            w.ind += 1
            if mode in modes:
                em = Emitter(g)
                w('{')
                w.ind += 1
                for m in body:
                    em.dec_decl(w, m, st.members, 'val->', mode, m.name in lt)
                w.ind -= 1
                w('}')
                w('break;')
            else:
                w('pv_cs_dec_set_fatal(dec, "struct has no partial form");')
                w('return false;')
            w.ind -= 1
        w('}')
        w('return !*dec->fatal;')
        w.ind -= 1
        w('}')
        w()
        w('bool')
        w('pvgi_dec_%s(struct pv_cs_dec *dec, %s *val, enum pvg_mode mode, unsigned depth)' % (s, s))
        w('{')
        w.ind += 1
        if st.stype:
            w('int32_t stype = 0;')
            w('if (!pv_cs_dec_read(dec, &stype, 4)) return false;')
            w('if (stype != (int32_t)%s) { pv_cs_dec_set_fatal(dec, "unexpected sType"); return false; }' % st.stype)
            w('val->sType = (VkStructureType)stype;')
        if st.has_pnext:
            if st.has_pnext and not st.stype:
                die('pNext without sType in %s' % s)
            w('if (!chain_dec_%s(dec, (void **)&val->pNext, mode, depth, mode == PVG_MODE_INTO ? (void *)val->pNext : NULL)) return false;' % s)
        w('return pvgi_dec_self_%s(dec, val, mode, depth);' % s)
        w.ind -= 1
        w('}')
        w()
        # encode
        w('bool')
        w('pvgi_enc_self_%s(struct pv_cs_enc *enc, const %s *val, bool partial, unsigned depth)' % (s, s))
        w('{')
        w.ind += 1
        w('(void)val; (void)depth;')
        w('if (partial) {')
        w.ind += 1
        if partial_ok:
            em = Emitter(g)
            for m in body:
                em.enc_decl(w, m, st.members, 'val->', 'partial', m.name in lt)
        else:
            w('*enc->fatal = true;')
            w('return false;')
        w.ind -= 1
        w('} else {')
        w.ind += 1
        em = Emitter(g)
        for m in body:
            em.enc_decl(w, m, st.members, 'val->', 'full', m.name in lt)
        w.ind -= 1
        w('}')
        w('return !*enc->fatal;')
        w.ind -= 1
        w('}')
        w()
        w('bool')
        w('pvgi_enc_%s(struct pv_cs_enc *enc, const %s *val, bool partial, unsigned depth)' % (s, s))
        w('{')
        w.ind += 1
        if st.stype:
            w('const int32_t stype = (int32_t)%s;' % st.stype)
            w('pv_cs_enc_write(enc, &stype, 4);')
        if st.has_pnext:
            w('if (!chain_enc_%s(enc, val->pNext, partial, depth)) return false;' % s)
        w('return pvgi_enc_self_%s(enc, val, partial, depth);' % s)
        w.ind -= 1
        w('}')
        w()

    # ---- internal header -----------------------------------------------------
    def internal_h(self):
        w = W()
        w('#ifndef PVG_INTERNAL_GEN_H')
        w('#define PVG_INTERNAL_GEN_H')
        w()
        w('/* Helpers shared by the generated .c files only. */')
        w('#include "pvg_structs.gen.h"')
        w('#include "pvg_commands.gen.h"')
        w()
        w('#pragma GCC diagnostic ignored "-Wunused-function"')
        w('#pragma GCC diagnostic ignored "-Wunused-variable"')
        w('#pragma GCC diagnostic ignored "-Wunused-label"')
        w()
        for s in sorted(self.g.structs):
            st = self.r.structs[s]
            if st.union:
                continue
            w('bool pvgi_dec_self_%s(struct pv_cs_dec *dec, %s *val, enum pvg_mode mode, unsigned depth);' % (s, s))
            w('bool pvgi_enc_self_%s(struct pv_cs_enc *enc, const %s *val, bool partial, unsigned depth);' % (s, s))
        w()
        w(HELPERS)
        w('#endif /* PVG_INTERNAL_GEN_H */')
        self.write('pvg_internal.gen.h', w.text())

    # ---- commands --------------------------------------------------------------
    def cmd_list(self):
        for primary, v, cmd in self.g.cmds:
            if primary in self.r.unsupported:
                continue
            yield primary, v, cmd

    def dispatch_type(self, cmd):
        if not cmd.params:
            return None
        p = cmd.params[0]
        if p.nptr == 0 and not p.dims and self.g.kind(p.type) == 'handle':
            disp, ot = self.r.handles[self.r.canon(p.type)]
            if disp:
                return self.r.canon(p.type)
        return None

    def level(self, primary, cmd):
        """'instance', 'device' or None (Venus transport commands)."""
        if cmd.name in self.r.venus_commands:
            return None
        d = self.dispatch_type(cmd)
        if d in ('VkDevice', 'VkQueue', 'VkCommandBuffer'):
            return 'device'
        return 'instance'

    def commands_h(self):
        r = self.r
        g = self.g
        w = W()
        w('#ifndef PVG_COMMANDS_GEN_H')
        w('#define PVG_COMMANDS_GEN_H')
        w()
        w('#include "pvg_structs.gen.h"')
        w()
        w('/*')
        w(' * Per command: the decoded arguments (same names and C types as the Vulkan')
        w(' * prototype; id_<param> keeps the raw client id of each top-level handle;')
        w(' * ret holds the return value), pvg_decode_<cmd>_args (the stream positioned')
        w(' * after the 8-byte command header), pvg_encode_<cmd>_reply (the whole')
        w(' * reply), and the client side pvg_encode_<cmd> / pvg_decode_<cmd>_reply.')
        w(' * Output handle pointers (pBuffer, pCommandBuffers, ...) hold the client-chosen')
        w(' * ids after decoding; read them before a host call overwrites them.')
        w(' */')
        for primary, v, cmd in self.cmd_list():
            w('struct pvg_args_%s {' % primary)
            for p in cmd.params:
                w('    %s;' % p.c_decl(drop_array_const=True))
            for p in cmd.params:
                if p.nptr == 0 and not p.dims and g.kind(p.type) == 'handle':
                    w('    uint64_t id_%s;' % p.name)
            if cmd.ret != 'void':
                w('    %s ret;' % cmd.ret)
            if not cmd.params and cmd.ret == 'void':
                w('    char unused;')
            w('};')
            w('bool pvg_decode_%s_args(struct pv_cs_dec *dec, struct pvg_args_%s *a);' % (primary, primary))
            w('bool pvg_encode_%s_reply(struct pv_cs_enc *enc, const struct pvg_args_%s *a);' % (primary, primary))
            w('bool pvg_encode_%s(struct pv_cs_enc *enc, uint32_t flags, const struct pvg_args_%s *a);' % (primary, primary))
            w('bool pvg_decode_%s_reply(struct pv_cs_dec *dec, struct pvg_args_%s *a);' % (primary, primary))
            w()
        # tables
        for lvl in ('instance', 'device'):
            w('struct pvg_%s_table {' % lvl)
            for primary, v, cmd in self.cmd_list():
                if self.level(primary, cmd) == lvl:
                    w('    PFN_%s %s;' % (cmd.name, primary[2:]))
            w('};')
            w()
        w('/* Loads every command of the level; missing ones stay NULL. Global commands')
        w(' * (vkCreateInstance, vkEnumerateInstance*) are loaded with a NULL instance. */')
        w('void pvg_load_instance_table(PFN_vkGetInstanceProcAddr gipa, VkInstance instance, struct pvg_instance_table *t);')
        w('void pvg_load_device_table(PFN_vkGetDeviceProcAddr gdpa, VkDevice device, struct pvg_device_table *t);')
        w()
        w('/* Calls the host function for the command from the table of its level')
        w(' * (struct pvg_instance_table or struct pvg_device_table). A NULL entry makes')
        w(' * the call a no-op that leaves ret untouched: the renderer must check that')
        w(' * the host supports the command (version or extension) before dispatching. */')
        for primary, v, cmd in self.cmd_list():
            if self.level(primary, cmd):
                w('void pvg_call_%s(const void *table, struct pvg_args_%s *a);' % (primary, primary))
        w()
        w('struct pvg_command_info {')
        w('    const char *name;                 /* NULL for ids no command uses */')
        w('    size_t args_size;                 /* sizeof(struct pvg_args_<name>) */')
        w('    bool (*decode_args)(struct pv_cs_dec *dec, void *args);')
        w('    bool (*encode_reply)(struct pv_cs_enc *enc, const void *args);')
        w('    void (*call)(const void *table, void *args);  /* NULL: no host command */')
        w('    VkObjectType dispatch_type;       /* first parameter, if dispatchable */')
        w('    bool device_level;                /* call takes a struct pvg_device_table */')
        w('    bool has_reply_result;            /* returns VkResult (first reply field after the id) */')
        w('    bool has_ret;                     /* returns a value (args has ret) */')
        w('    size_t table_offset;              /* offsetof its entry in the level\'s table (call != NULL) */')
        w('    size_t result_offset;             /* offsetof ret in the args (has_ret) */')
        w('    VkObjectType created_type;        /* the one output handle, or UNKNOWN */')
        w('    size_t created_ptr_offset;        /* offsetof the pointer to it in the args */')
        w('    VkObjectType destroyed_type;      /* vkDestroy or vkFree of one handle, or UNKNOWN */')
        w('    size_t destroyed_id_offset;       /* offsetof its id_ field in the args */')
        w('};')
        w()
        w('extern const struct pvg_command_info pvg_command_infos[PVG_CMD_COUNT];')
        w()
        w('#endif /* PVG_COMMANDS_GEN_H */')
        self.write('pvg_commands.gen.h', w.text())

    def commands_c(self):
        g = self.g
        r = self.r
        w = W()
        w('#include "pvg_internal.gen.h"')
        w()
        for primary, v, cmd in self.cmd_list():
            params = cmd.params
            lt = g.len_targets(params)
            # decode args
            w('bool')
            w('pvg_decode_%s_args(struct pv_cs_dec *dec, struct pvg_args_%s *a)' % (primary, primary))
            w('{')
            w.ind += 1
            w('const unsigned depth = 0;')
            w('(void)depth;')
            w('memset(a, 0, sizeof(*a));')
            em = Emitter(g)
            for i, p in enumerate(params):
                if p.name == 'pAllocator':
                    w('if (pvg_dec_present(dec)) { pv_cs_dec_set_fatal(dec, "pAllocator is not NULL"); return false; }')
                    continue
                out = g.is_output(p)
                idf = None
                if p.nptr == 0 and not p.dims and g.kind(p.type) == 'handle':
                    idf = 'a->id_' + p.name
                em.dec_decl(w, p, params, 'a->', 'partial' if out else 'full', p.name in lt, idf)
                if i == 0 and idf and self.dispatch_type(cmd):
                    w('if (!a->id_%s) { pv_cs_dec_set_fatal(dec, "NULL dispatchable handle"); return false; }' % p.name)
            w('return !*dec->fatal;')
            w.ind -= 1
            w('}')
            w()
            # encode reply
            w('bool')
            w('pvg_encode_%s_reply(struct pv_cs_enc *enc, const struct pvg_args_%s *a)' % (primary, primary))
            w('{')
            w.ind += 1
            w('const unsigned depth = 0;')
            w('(void)depth;')
            w('const int32_t cmd = %d;' % v)
            w('pv_cs_enc_write(enc, &cmd, 4);')
            if cmd.ret != 'void':
                em.enc_scalar(w, cmd.ret, 'a->ret')
            for p in params:
                if g.is_output(p) and p.name != 'pAllocator':
                    em.enc_decl(w, p, params, 'a->', 'full', p.name in lt)
            w('return !*enc->fatal;')
            w.ind -= 1
            w('}')
            w()
            # client encode
            w('bool')
            w('pvg_encode_%s(struct pv_cs_enc *enc, uint32_t flags, const struct pvg_args_%s *a)' % (primary, primary))
            w('{')
            w.ind += 1
            w('const unsigned depth = 0;')
            w('(void)depth;')
            w('const int32_t cmd = %d;' % v)
            w('pv_cs_enc_write(enc, &cmd, 4);')
            w('pv_cs_enc_write(enc, &flags, 4);')
            for p in params:
                if p.name == 'pAllocator':
                    w('pvg_enc_size(enc, 0);')
                    continue
                em.enc_decl(w, p, params, 'a->', 'partial' if g.is_output(p) else 'full', p.name in lt)
            w('return !*enc->fatal;')
            w.ind -= 1
            w('}')
            w()
            # client decode reply
            w('bool')
            w('pvg_decode_%s_reply(struct pv_cs_dec *dec, struct pvg_args_%s *a)' % (primary, primary))
            w('{')
            w.ind += 1
            w('const unsigned depth = 0;')
            w('(void)depth;')
            w('int32_t cmd = 0;')
            w('if (!pv_cs_dec_read(dec, &cmd, 4)) return false;')
            w('if (cmd != %d) { pv_cs_dec_set_fatal(dec, "reply for another command"); return false; }' % v)
            if cmd.ret != 'void':
                em.dec_scalar(w, cmd.ret, 'a->ret')
            for p in params:
                if g.is_output(p) and p.name != 'pAllocator':
                    if p.name in lt and p.nptr == 1:
                        cap = em.t('cap')
                        w('const uint64_t %s = a->%s ? (uint64_t)*a->%s : 0;' % (cap, p.name, p.name))
                        em.dec_decl(w, p, params, 'a->', 'into', True)
                        w('if (a->%s && (uint64_t)*a->%s > %s) { pv_cs_dec_set_fatal(dec, "reply count exceeds the request"); return false; }' % (p.name, p.name, cap))
                    else:
                        em.dec_decl(w, p, params, 'a->', 'into', p.name in lt)
            w('return !*dec->fatal;')
            w.ind -= 1
            w('}')
            w()
        self.write('pvg_commands.gen.c', w.text())

    def tables_c(self):
        g = self.g
        r = self.r
        w = W()
        w('#include "pvg_internal.gen.h"')
        w()
        w('const struct pvg_extension pvg_extensions[PVG_EXTENSION_COUNT] = {')
        for n, num, sv in sorted(r.extensions):
            w('    { "%s", %d, %d },' % (n, num, sv))
        w('};')
        w()
        names = {v: primary for primary, v, cmd in g.cmds}
        w('static const char *const command_names[PVG_CMD_COUNT] = {')
        for v in sorted(names):
            w('    [%d] = "%s",' % (v, names[v]))
        w('};')
        w()
        w('const char *')
        w('pvg_command_name(uint32_t id)')
        w('{')
        w('    return id < PVG_CMD_COUNT ? command_names[id] : NULL;')
        w('}')
        w()
        # loaders: every alias name of a command
        alias_names = {}
        for n, v in r.ids:
            alias_names.setdefault(v, []).append(n)
        for canon_alias, target in sorted(r.cmd_alias.items()):
            pass
        for lvl, fn, pfn in (('instance', 'gipa', 'PFN_vkGetInstanceProcAddr'), ('device', 'gdpa', 'PFN_vkGetDeviceProcAddr')):
            obj = 'VkInstance instance' if lvl == 'instance' else 'VkDevice device'
            w('void')
            w('pvg_load_%s_table(%s %s, %s, struct pvg_%s_table *t)' % (lvl, pfn, fn, obj, lvl))
            w('{')
            w.ind += 1
            w('PFN_vkVoidFunction f;')
            w('memset(t, 0, sizeof(*t));')
            for primary, v, cmd in self.cmd_list():
                if self.level(primary, cmd) != lvl:
                    continue
                cands = [cmd.name] + [n for n in alias_names[v] if n != cmd.name]
                cands += sorted(a for a, tgt in r.cmd_alias.items() if tgt == cmd.name and a not in cands)
                first = True
                for c in cands:
                    if lvl == 'instance':
                        call = '%s(instance, "%s")' % (fn, c)
                        w('%sf = %s;' % ('' if first else 'if (!f) ', call))
                        w('if (!f) f = %s(VK_NULL_HANDLE, "%s");' % (fn, c))
                    else:
                        w('%sf = %s(device, "%s");' % ('' if first else 'if (!f) ', fn, c))
                    first = False
                w('t->%s = (PFN_%s)f;' % (primary[2:], cmd.name))
            w.ind -= 1
            w('}')
            w()
        # call glue
        for primary, v, cmd in self.cmd_list():
            lvl = self.level(primary, cmd)
            if not lvl:
                continue
            w('void')
            w('pvg_call_%s(const void *table, struct pvg_args_%s *a)' % (primary, primary))
            w('{')
            w.ind += 1
            w('const struct pvg_%s_table *t = table;' % lvl)
            w('if (!t->%s) return;' % primary[2:])
            args = ', '.join('a->' + p.name for p in cmd.params)
            if cmd.ret != 'void':
                w('a->ret = t->%s(%s);' % (primary[2:], args))
            else:
                w('t->%s(%s);' % (primary[2:], args))
            w.ind -= 1
            w('}')
            w()
        # wrappers and infos
        for primary, v, cmd in self.cmd_list():
            w('static bool w_dec_%s(struct pv_cs_dec *d, void *a) { return pvg_decode_%s_args(d, a); }' % (primary, primary))
            w('static bool w_enc_%s(struct pv_cs_enc *e, const void *a) { return pvg_encode_%s_reply(e, a); }' % (primary, primary))
            if self.level(primary, cmd):
                w('static void w_call_%s(const void *t, void *a) { pvg_call_%s(t, a); }' % (primary, primary))
        w()
        w('const struct pvg_command_info pvg_command_infos[PVG_CMD_COUNT] = {')
        for primary, v, cmd in g.cmds:
            if primary in r.unsupported:
                w('    [%d] = { .name = "%s" }, /* unsupported: %s */' % (v, primary, r.unsupported[primary]))
                continue
            dt = self.dispatch_type(cmd)
            ot = r.handles[dt][1] if dt else 'VK_OBJECT_TYPE_UNKNOWN'
            lvl = self.level(primary, cmd)
            fields = ['.name = "%s"' % primary,
                      '.args_size = sizeof(struct pvg_args_%s)' % primary,
                      '.decode_args = w_dec_%s' % primary,
                      '.encode_reply = w_enc_%s' % primary,
                      '.call = %s' % (('w_call_' + primary) if lvl else 'NULL'),
                      '.dispatch_type = %s' % ot,
                      '.device_level = %s' % ('true' if lvl == 'device' else 'false'),
                      '.has_reply_result = %s' % ('true' if cmd.ret == 'VkResult' else 'false'),
                      '.has_ret = %s' % ('true' if cmd.ret != 'void' else 'false')]
            if lvl:
                fields.append('.table_offset = offsetof(struct pvg_%s_table, %s)' % (lvl, primary[2:]))
            if cmd.ret != 'void':
                fields.append('.result_offset = offsetof(struct pvg_args_%s, ret)' % primary)
            outs = [p for p in cmd.params if g.is_output(p)]
            if len(outs) == 1 and outs[0].nptr == 1 and not (outs[0].len or outs[0].altlen) and g.kind(outs[0].type) == 'handle':
                fields.append('.created_type = %s' % objtype(r, outs[0].type))
                fields.append('.created_ptr_offset = offsetof(struct pvg_args_%s, %s)' % (primary, outs[0].name))
            else:
                fields.append('.created_type = VK_OBJECT_TYPE_UNKNOWN')
            destroyed = None
            if primary.startswith('vkDestroy') or primary.startswith('vkFree'):
                hs = [p for p in cmd.params if p.nptr == 0 and not p.dims and g.kind(p.type) == 'handle']
                arrays = [p for p in cmd.params if p.nptr and g.kind(p.type) == 'handle']
                if hs and not arrays:
                    destroyed = hs[-1]
            if destroyed is not None:
                fields.append('.destroyed_type = %s' % objtype(r, destroyed.type))
                fields.append('.destroyed_id_offset = offsetof(struct pvg_args_%s, id_%s)' % (primary, destroyed.name))
            else:
                fields.append('.destroyed_type = VK_OBJECT_TYPE_UNKNOWN')
            w('    [%d] = {' % v)
            for f in fields:
                w('        %s,' % f)
            w('    },')
        w('};')
        self.write('pvg_tables.gen.c', w.text())

    def umbrella_h(self):
        w = W()
        w('#ifndef PVG_GEN_H')
        w('#define PVG_GEN_H')
        w()
        w('/* Everything the generated Venus protocol code exports. */')
        w('#include "pvg_protocol.gen.h"')
        w('#include "pvg_structs.gen.h"')
        w('#include "pvg_commands.gen.h"')
        w()
        w('#endif /* PVG_GEN_H */')
        self.write('pvg.gen.h', w.text())

    def meson(self):
        body = ("pvg_sources = files(\n"
                "  'pvg_commands.gen.c',\n"
                "  'pvg_structs.gen.c',\n"
                "  'pvg_tables.gen.c',\n"
                ")\n"
                "pvg_inc = include_directories('.')\n")
        with open(os.path.join(self.out, 'meson.build'), 'w') as f:
            f.write('# ' + self.stamp.strip()[3:-3].strip() + '\n')
            f.write(body)
        with open(os.path.join(self.out, '.clang-format'), 'w') as f:
            f.write('# Generated code is not formatted.\nDisableFormat: true\nSortIncludes: Never\n')


HELPERS = r'''
static inline bool
pvg_dec_handle(struct pv_cs_dec *dec, uint64_t id, VkObjectType type, uint64_t *out)
{
    if (!id) {
        *out = 0;
        return true;
    }
    if (!dec->lookup) {
        *out = id;
        return true;
    }
    if (!dec->lookup(dec->lookup_data, id, type, out)) {
        pv_cs_dec_set_fatal_as(dec, PV_FATAL_OBJECT, "unknown object id or wrong object type");
        return false;
    }
    return true;
}

/*
 * A handle sent as a uint64_t beside the VkObjectType the client gives it
 * (vkSetPrivateData's objectHandle, debug-utils names): the host driver
 * casts it to a pointer, so it is translated like every handle, with that
 * type. 0, VK_OBJECT_TYPE_UNKNOWN, an unknown id or an object of another
 * type is fatal.
 */
static inline bool
pvg_dec_object_handle(struct pv_cs_dec *dec, VkObjectType type, uint64_t *v)
{
    if (!dec->lookup)
        return !*dec->fatal;
    if (!*v || type == VK_OBJECT_TYPE_UNKNOWN || !dec->lookup(dec->lookup_data, *v, type, v)) {
        pv_cs_dec_set_fatal(dec, "object handle is 0, unknown or not of its objectType");
        return false;
    }
    return true;
}

/* A simple pointer: array size 1 (present) or 0 (NULL). */
static inline bool
pvg_dec_present(struct pv_cs_dec *dec)
{
    uint64_t n = 0;
    if (!pv_cs_dec_read(dec, &n, 8))
        return false;
    return n != 0;
}

static inline bool
pvg_dec_size_eq(struct pv_cs_dec *dec, uint64_t expected)
{
    uint64_t n = 0;
    if (!pv_cs_dec_read(dec, &n, 8))
        return false;
    if (n != expected) {
        pv_cs_dec_set_fatal(dec, "array size does not match its count");
        return false;
    }
    return true;
}

static inline bool
pvg_dec_check_str(struct pv_cs_dec *dec, const char *s, size_t size)
{
    if (*dec->fatal)
        return false;
    if (!size || memchr(s, 0, size) == NULL) {
        pv_cs_dec_set_fatal(dec, "string not NUL-terminated");
        return false;
    }
    return true;
}

/* array size = strlen + 1 (0 = NULL), bytes padded to 4. */
static inline bool
pvg_dec_string(struct pv_cs_dec *dec, const char **out)
{
    uint64_t n = 0;
    *out = NULL;
    if (!pv_cs_dec_read(dec, &n, 8))
        return false;
    if (!n)
        return true;
    if (n > pv_cs_dec_remaining(dec)) {
        pv_cs_dec_set_fatal(dec, "string longer than the stream");
        return false;
    }
    char *s = pv_cs_dec_alloc(dec, (size_t)n, 1);
    if (!s)
        return false;
    if (!pv_cs_dec_read(dec, s, (size_t)n))
        return false;
    if (s[n - 1] != 0) {
        pv_cs_dec_set_fatal(dec, "string not NUL-terminated");
        return false;
    }
    *out = s;
    return true;
}

static inline bool
pvg_dec_string_array(struct pv_cs_dec *dec, const char *const **out, uint64_t count, bool checked)
{
    uint64_t n = 0;
    *out = NULL;
    /* Read once: a stream in shared memory can change between two reads. */
    if (!pv_cs_dec_read(dec, &n, 8))
        return false;
    if (!n) {
        if (checked && count) {
            pv_cs_dec_set_fatal(dec, "array size does not match its count");
            return false;
        }
        return true;
    }
    if (n != count) {
        pv_cs_dec_set_fatal(dec, "array size does not match its count");
        return false;
    }
    if (n > pv_cs_dec_remaining(dec) / 8) {
        pv_cs_dec_set_fatal(dec, "array longer than the stream");
        return false;
    }
    const char **v = pv_cs_dec_alloc(dec, (size_t)n, sizeof(*v));
    if (!v)
        return false;
    for (uint64_t i = 0; i < n; i++) {
        if (!pvg_dec_string(dec, &v[i]))
            return false;
    }
    *out = v;
    return true;
}

static inline void
pvg_enc_size(struct pv_cs_enc *enc, uint64_t n)
{
    pv_cs_enc_write(enc, &n, 8);
}

static inline bool
pvg_enc_present(struct pv_cs_enc *enc, const void *p)
{
    pvg_enc_size(enc, p ? 1 : 0);
    return p != NULL;
}

static inline void
pvg_enc_string(struct pv_cs_enc *enc, const char *s)
{
    if (!s) {
        pvg_enc_size(enc, 0);
        return;
    }
    size_t n = strlen(s) + 1;
    pvg_enc_size(enc, n);
    pv_cs_enc_write(enc, s, n);
}

static inline void
pvg_enc_string_array(struct pv_cs_enc *enc, const char *const *v, uint64_t count)
{
    if (!v) {
        pvg_enc_size(enc, 0);
        return;
    }
    pvg_enc_size(enc, count);
    for (uint64_t i = 0; i < count; i++)
        pvg_enc_string(enc, v[i]);
}
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--vk-xml', default='/usr/share/vulkan/registry/vk.xml')
    ap.add_argument('--protocol', default=os.path.join(HERE, 'venus_protocol.xml'))
    ap.add_argument('--out', default=os.path.join(HERE, '..', 'src', 'gpu', 'venus', 'generated'))
    ap.add_argument('--stats', action='store_true')
    a = ap.parse_args()
    reg = Registry(a.vk_xml, a.protocol)
    gen = Gen(reg)
    os.makedirs(a.out, exist_ok=True)
    f = Files(gen, a.out)
    f.protocol_h()
    f.structs_h()
    f.internal_h()
    f.structs_c()
    f.commands_h()
    f.commands_c()
    f.tables_c()
    f.umbrella_h()
    f.meson()
    if a.stats:
        n = sum(1 for _ in f.cmd_list())
        print('commands: %d ids, %d with codecs; structs: %d (%d with partial forms)'
              % (len(gen.cmds), n, len(gen.structs), len(gen.partial)))


if __name__ == '__main__':
    main()
