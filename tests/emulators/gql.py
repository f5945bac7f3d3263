"""A small GraphQL engine shared by the loopback vendor emulators: a parser
for operations, variables, aliases, fragments and directives, and an
executor that answers only the selected fields of Obj trees. Standard
library only."""
import json
import re


class GQLError(Exception):
    pass


_GTOK = re.compile(r'''
    (?P<ws>[\s,\ufeff]+|\#[^\n]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[{}()\[\]:!=@$|&])
  | (?P<block>"""(?:[^"\\]|\\.|"(?!""))*""")
  | (?P<str>"(?:[^"\\\n]|\\.)*")
  | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
''', re.X)


def gql_tokens(src):
    out, pos = [], 0
    while pos < len(src):
        m = _GTOK.match(src, pos)
        if not m:
            raise GQLError("Syntax Error: Unexpected character %r." % src[pos])
        pos = m.end()
        kind = m.lastgroup
        if kind == "ws":
            continue
        out.append((kind, m.group(kind)))
    out.append(("eof", None))
    return out


class GQLParser:
    def __init__(self, src, parse_float=float):
        self.t = gql_tokens(src)
        self.i = 0
        self.parse_float = parse_float

    def peek(self, k=0):
        return self.t[self.i + k]

    def take(self, kind=None, val=None):
        tok = self.t[self.i]
        if (kind and tok[0] != kind) or (val is not None and tok[1] != val):
            raise GQLError("Syntax Error: Expected %s, found %s." %
                           (val or kind, tok[1] if tok[1] is not None else "<EOF>"))
        self.i += 1
        return tok[1]

    def is_(self, kind, val=None):
        tok = self.t[self.i]
        return tok[0] == kind and (val is None or tok[1] == val)

    def document(self):
        ops, frags = [], {}
        while not self.is_("eof"):
            if self.is_("punct", "{"):
                ops.append({"type": "query", "name": None, "vars": {},
                            "sel": self.selection_set()})
            elif self.is_("name", "fragment"):
                self.take()
                name = self.take("name")
                self.take("name", "on")
                tcond = self.take("name")
                self.directives()
                frags[name] = {"on": tcond, "sel": self.selection_set()}
            elif self.is_("name") and self.peek()[1] in ("query", "mutation", "subscription"):
                otype = self.take()
                name = self.take("name") if self.is_("name") else None
                vars_ = self.var_defs() if self.is_("punct", "(") else {}
                self.directives()
                ops.append({"type": otype, "name": name, "vars": vars_,
                            "sel": self.selection_set()})
            else:
                raise GQLError("Syntax Error: Unexpected %s." % (self.peek()[1],))
        return ops, frags

    def var_defs(self):
        self.take("punct", "(")
        out = {}
        while not self.is_("punct", ")"):
            self.take("punct", "$")
            name = self.take("name")
            self.take("punct", ":")
            self.type_ref()
            default = None
            if self.is_("punct", "="):
                self.take()
                default = self.value(const=True)
            self.directives()
            out[name] = default
        self.take("punct", ")")
        return out

    def type_ref(self):
        if self.is_("punct", "["):
            self.take()
            self.type_ref()
            self.take("punct", "]")
        else:
            self.take("name")
        if self.is_("punct", "!"):
            self.take()

    def directives(self):
        out = []
        while self.is_("punct", "@"):
            self.take()
            name = self.take("name")
            args = self.arguments() if self.is_("punct", "(") else {}
            out.append((name, args))
        return out

    def selection_set(self):
        self.take("punct", "{")
        sel = []
        while not self.is_("punct", "}"):
            if self.is_("spread"):
                self.take()
                if self.is_("name", "on"):
                    self.take()
                    tcond = self.take("name")
                    dirs = self.directives()
                    sel.append(("inline", tcond, dirs, self.selection_set()))
                elif self.is_("name"):
                    name = self.take()
                    sel.append(("spread", name, self.directives()))
                else:
                    dirs = self.directives()
                    sel.append(("inline", None, dirs, self.selection_set()))
                continue
            name = self.take("name")
            alias = name
            if self.is_("punct", ":"):
                self.take()
                name = self.take("name")
            args = self.arguments() if self.is_("punct", "(") else {}
            dirs = self.directives()
            sub = self.selection_set() if self.is_("punct", "{") else None
            sel.append(("field", alias, name, args, dirs, sub))
        self.take("punct", "}")
        if not sel:
            raise GQLError("Syntax Error: Expected Name, found \"}\".")
        return sel

    def arguments(self):
        self.take("punct", "(")
        out = {}
        while not self.is_("punct", ")"):
            name = self.take("name")
            self.take("punct", ":")
            out[name] = self.value()
        self.take("punct", ")")
        return out

    def value(self, const=False):
        kind, val = self.peek()
        if kind == "punct" and val == "$" and not const:
            self.take()
            return ("var", self.take("name"))
        if kind == "num":
            self.take()
            return ("lit", self.parse_float(val) if any(c in val for c in ".eE") else int(val))
        if kind == "str":
            self.take()
            return ("lit", json.loads(val))
        if kind == "block":
            self.take()
            return ("lit", val[3:-3])
        if kind == "name":
            self.take()
            return ("lit", {"true": True, "false": False, "null": None}.get(val, val))
        if kind == "punct" and val == "[":
            self.take()
            items = []
            while not self.is_("punct", "]"):
                items.append(self.value(const))
            self.take()
            return ("list", items)
        if kind == "punct" and val == "{":
            self.take()
            fields = {}
            while not self.is_("punct", "}"):
                k = self.take("name")
                self.take("punct", ":")
                fields[k] = self.value(const)
            self.take()
            return ("obj", fields)
        raise GQLError("Syntax Error: Unexpected %s." % (val,))


def gql_value(v, variables):
    kind, x = v
    if kind == "var":
        return variables.get(x)
    if kind == "list":
        return [gql_value(i, variables) for i in x]
    if kind == "obj":
        return {k: gql_value(i, variables) for k, i in x.items()}
    return x


class Obj:
    """A GraphQL object: typename + field resolvers (values or callables
    taking the argument dict)."""
    __slots__ = ("typename", "fields")

    def __init__(self, typename, fields):
        self.typename = typename
        self.fields = fields


class GQLExec:
    """aliases: typename -> other names fragments may be declared on.
    resolver_error(exc, path) turns a resolver's exception (error_types)
    into an entry of "errors", or raises to fail the request."""

    def __init__(self, frags, variables, aliases=None, error_types=(),
                 resolver_error=None):
        self.frags = frags
        self.vars = variables
        self.errors = []
        self.aliases = aliases or {}
        self.error_types = error_types
        self.resolver_error = resolver_error

    def skip(self, dirs):
        for name, args in dirs:
            cond = bool(gql_value(args.get("if", ("lit", False)), self.vars))
            if name == "skip" and cond:
                return True
            if name == "include" and not cond:
                return True
        return False

    def collect(self, obj, sel, out):
        for s in sel:
            if s[0] == "field":
                _, alias, name, args, dirs, sub = s
                if self.skip(dirs):
                    continue
                out.setdefault(alias, []).append((name, args, sub))
            elif s[0] == "spread":
                if self.skip(s[2]):
                    continue
                fr = self.frags.get(s[1])
                if fr is None:
                    raise GQLError('Unknown fragment "%s".' % s[1])
                if fr["on"] in (obj.typename, "Node") or \
                        fr["on"] in self.aliases.get(obj.typename, ()):
                    self.collect(obj, fr["sel"], out)
            else:
                _, tcond, dirs, sub = s
                if self.skip(dirs):
                    continue
                if tcond is None or tcond == obj.typename or \
                        tcond in self.aliases.get(obj.typename, ()):
                    self.collect(obj, sub, out)
        return out

    def complete(self, val, sub, path):
        if val is None:
            return None
        if isinstance(val, list):
            return [self.complete(v, sub, path + [i]) for i, v in enumerate(val)]
        if isinstance(val, Obj):
            if sub is None:
                raise GQLError('Field "%s" of type "%s" must have a selection of subfields.'
                               % (path[-1], val.typename))
            return self.resolve(val, sub, path)
        if sub is not None:
            raise GQLError('Field "%s" must not have a selection since it is a leaf.'
                           % (path[-1],))
        return val

    def resolve(self, obj, sel, path):
        grouped = self.collect(obj, sel, {})
        out = {}
        for alias, entries in grouped.items():
            name, args, sub = entries[0]
            if len(entries) > 1 and sub is not None:   # merge same-named fields
                sub = [s for e in entries for s in (e[2] or [])]
            if name == "__typename":
                out[alias] = obj.typename
                continue
            if name not in obj.fields:
                raise GQLError('Cannot query field "%s" on type "%s".' % (name, obj.typename))
            r = obj.fields[name]
            argv = {k: gql_value(v, self.vars) for k, v in args.items()}
            try:
                val = r(argv) if callable(r) else r
            except self.error_types as e:
                self.errors.append(self.resolver_error(e, path + [alias]))
                out[alias] = None
                continue
            out[alias] = self.complete(val, sub, path + [alias])
        return out


def gql_execute(query, variables, operation_name, root_query, root_mutation=None,
                parse_float=float, aliases=None, error_types=(), resolver_error=None,
                validation_extensions=None):
    """Run one request; returns (http status, response dict). The roots are
    Obj instances or callables returning one (built per request)."""
    if not isinstance(query, str) or not query.strip():
        return 400, {"errors": [{"message": "Must provide query string."}]}
    try:
        ops, frags = GQLParser(query, parse_float).document()
    except GQLError as e:
        return 400, {"errors": [{"message": str(e)}]}
    if not ops:
        return 400, {"errors": [{"message": "Must provide an operation."}]}
    if operation_name:
        ops = [o for o in ops if o["name"] == operation_name]
        if not ops:
            return 400, {"errors": [{"message": 'Unknown operation named "%s".'
                                     % operation_name}]}
    op = ops[0]
    root = root_query if op["type"] == "query" else \
        root_mutation if op["type"] == "mutation" else None
    if root is None:
        return 400, {"errors": [{"message": 'Schema is not configured to execute %s operation.'
                                 % op["type"]}]}
    variables = dict(variables or {})
    for k, default in op["vars"].items():
        if k not in variables and default is not None:
            variables[k] = gql_value(default, {})
    ex = GQLExec(frags, variables, aliases, error_types, resolver_error)
    try:
        data = ex.resolve(root() if callable(root) else root, op["sel"], [])
    except GQLError as e:
        err = {"message": str(e)}
        if validation_extensions:
            err["extensions"] = validation_extensions
        return 400, {"errors": [err]}
    res = {"data": data}
    if ex.errors:
        res["errors"] = ex.errors
    return 200, res


def _arg_names(args):
    """Argument names of a field; an object literal adds "arg.key" names."""
    out = set()
    for k, v in args.items():
        out.add(k)
        if v[0] == "obj":
            out.update(k + "." + n for n in _arg_names(v[1]))
    return out


def gql_paths(query):
    """Every selection path of a document, root to each field: a set of
    (operation type, ((field name, frozenset of argument names), ...)).
    Aliases are ignored (the field's own name counts), fragments are
    inlined, directives ignored; raises GQLError on syntax errors."""
    ops, frags = GQLParser(query).document()
    out = set()

    def walk(sel, prefix, otype, seen):
        for s in sel:
            if s[0] == "field":
                _, _alias, name, args, _dirs, sub = s
                p = prefix + ((name, frozenset(_arg_names(args))),)
                out.add((otype, p))
                if sub:
                    walk(sub, p, otype, seen)
            elif s[0] == "spread":
                fr = frags.get(s[1])
                if fr is None:
                    raise GQLError('Unknown fragment "%s".' % s[1])
                if s[1] in seen:
                    raise GQLError('Cannot spread fragment "%s" within itself.' % s[1])
                walk(fr["sel"], prefix, otype, seen | {s[1]})
            else:
                walk(s[3], prefix, otype, seen)

    for op in ops:
        walk(op["sel"], (), op["type"], frozenset())
    return out


def gql_path_str(otype, path):
    return otype + " " + ".".join(
        n + ("(" + ",".join(sorted(a)) + ")" if a else "") for n, a in path)


def gql_path_parse(line):
    """The inverse of gql_path_str."""
    otype, rest = line.split(" ", 1)
    segs, depth, cur = [], 0, ""
    for ch in rest:
        if ch == "." and depth == 0:
            segs.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    segs.append(cur)
    path = []
    for s in segs:
        if "(" in s:
            name, a = s[:-1].split("(", 1)
            path.append((name, frozenset(a.split(","))))
        else:
            path.append((s, frozenset()))
    return otype, tuple(path)


class GQLAllowed:
    """The fields and arguments a vendor's public client uses, as a set of
    selection paths (gql_paths); a document is allowed when every field it
    selects is at a path some public document selects, with arguments among
    those the public documents give that path."""

    def __init__(self, lines, never=()):
        self.args = {}
        for line in lines:
            otype, path = gql_path_parse(line)
            for i in range(1, len(path) + 1):
                key = (otype,) + tuple(n for n, _ in path[:i])
                self.args.setdefault(key, set()).update(path[i - 1][1])
        self.never = set(never)   # (last two names) never allowed

    @classmethod
    def from_file(cls, path, never=()):
        lines = []
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.split("#", 1)[0].rstrip()
                if line:
                    lines.append(line.split("\t")[0])
        return cls(lines, never)

    def check(self, query):
        """None when allowed, else the GraphQL error message a server without
        that field or argument would answer."""
        for otype, path in sorted(gql_paths(query), key=lambda p: len(p[1])):
            names = tuple(n for n, _ in path)
            parent = names[-2] if len(names) > 1 else otype.capitalize()
            if names[-1] == "__typename":
                continue
            allowed = self.args.get((otype,) + names)
            if allowed is None or names[-2:] in self.never:
                return 'Cannot query field "%s" on type "%s".' % (names[-1], parent)
            extra = sorted(path[-1][1] - allowed)
            if extra:
                return 'Unknown argument "%s" on field "%s.%s".' % (
                    extra[0], parent, names[-1])
        return None
