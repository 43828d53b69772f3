"""A scripted XMPP contact for the tests: slixmpp 1.8 in its own thread.

    bot = Bot("bob")
    bot.connect("bob@localhost", "pw", prosody.ca_file, port=prosody.port)
    bot.send_message("alice@localhost", "hi")
    m = bot.wait_for(is_message(body="hello"), timeout=5)
    reply = bot.iq_query("localhost", "<query xmlns='jabber:iq:version'/>")
    bot.stop()

Every method may be called from any thread: each one hands its work to the
bot's own asyncio loop and waits (bounded) for the result.  Every element
the server sends on the stream (stanzas, and also stream features, SASL and
stream errors) is recorded, as an ElementTree element, in arrival order;
wait_for() looks through them.  Stanzas are in the jabber:client namespace:
tag "{jabber:client}message".  The helpers at the bottom (local, child,
is_message, is_presence, is_iq, xml) save writing namespaces out.

TLS is always verified against the CA file given to connect(), with the
host name set to the JID's domain, as slixmpp's default SSL context does.
"""
import asyncio
import copy
import logging
import threading
import time
import xml.etree.ElementTree as ET

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout, PresenceError
from slixmpp.stanza import Iq, Message, Presence
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher.base import MatcherBase
from slixmpp.xmlstream.tostring import tostring

NS_CLIENT = "jabber:client"
NS_STREAM = "http://etherx.jabber.org/streams"
NS_SASL = "urn:ietf:params:xml:ns:xmpp-sasl"
NS_STANZAS = "urn:ietf:params:xml:ns:xmpp-stanzas"

DEFAULT_PLUGINS = ("xep_0030", "xep_0045", "xep_0199", "xep_0115")


class BotError(Exception):
    pass


class AuthError(BotError):
    """The server refused the password (SASL failure)."""


class TLSError(BotError):
    """TLS failed, e.g. the certificate is not trusted or the name is wrong."""


class ConnectError(BotError):
    """No session: refused connection, stream error, closed stream, timeout."""


def parse(x):
    """An XML string (or element) -> element.  A top-level message, presence
    or iq written without xmlns is put in jabber:client."""
    if isinstance(x, ET.Element):
        return x
    e = ET.fromstring(x)
    if not e.tag.startswith("{"):
        e = ET.fromstring("<w xmlns='%s'>%s</w>" % (NS_CLIENT, x))[0]
    return e


class _Pred(MatcherBase):
    """A slixmpp matcher from a predicate over the raw element."""

    def __init__(self, pred):
        super().__init__(pred)
        self._pred = pred

    def match(self, stanza):
        try:
            return bool(self._pred(stanza.xml))
        except Exception:
            return False


class IqErrorReply:
    """Returned by an auto-reply function: answer with this error."""

    def __init__(self, condition="feature-not-implemented", etype="cancel", text=None):
        self.condition, self.etype, self.text = condition, etype, text


class _Client(slixmpp.ClientXMPP):
    def __init__(self, bot, jid, password, host, port):
        super().__init__(jid, password)
        self._rx_bot = bot
        self._rx_addr = (host, port)

    async def get_dns_records(self, domain, port=None):
        # No DNS: always the address we were given.  TLS still checks the
        # certificate against the JID's domain (server_hostname).
        return [(domain, self._rx_addr[0], self._rx_addr[1])]

    def incoming_filter(self, xml):
        self._rx_bot._record(xml)
        return xml


class Bot:
    """One XMPP client on its own thread and event loop.  See the module
    docstring.  name is used in thread names and log lines."""

    def __init__(self, name="bot", plugins=DEFAULT_PLUGINS, debug=False):
        self.name = name
        self.plugins = tuple(plugins)
        self.xmpp = None
        self.jid = None
        self.features = None       # the last <stream:features> received
        self._received = []        # every element received, in order
        self._taken = set()
        self._cond = threading.Condition()
        self._auto = []            # Callback handlers we registered
        if debug:
            logging.basicConfig(level=logging.DEBUG)
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="bot-" + name, daemon=True)
        self._thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
                for t in pending:
                    t.cancel()
                if pending:
                    self.loop.run_until_complete(
                        asyncio.wait(pending, timeout=2))
            finally:
                self.loop.close()

    # ----- running things on the bot's loop -----

    def _call(self, fn, *args, timeout=10, **kw):
        """Run fn(*args) on the loop; return its result (awaited if a coroutine)."""
        if threading.current_thread() is self._thread:
            raise BotError("Bot methods are blocking; do not call them from slixmpp handlers")
        if not self._thread.is_alive():
            raise BotError("bot %s is stopped" % self.name)

        async def job():
            r = fn(*args, **kw)
            if asyncio.iscoroutine(r) or isinstance(r, asyncio.Future):
                r = await r
            return r
        fut = asyncio.run_coroutine_threadsafe(job(), self.loop)
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise

    # ----- connection -----

    def connect(self, jid, password, ca_file, host="127.0.0.1", port=5222, timeout=10,
                direct_tls=False, presence=True, roster=True):
        """Log in and wait for the session (at most `timeout` s).  Then, by
        default, fetch the roster and send initial presence.  Raises
        AuthError, TLSError or ConnectError with the reason."""
        if self.xmpp is not None:
            raise BotError("already connected; make a new Bot")
        self.jid = jid
        return self._call(self._connect, jid, password, ca_file, host, port, timeout,
                          direct_tls, presence, roster, timeout=timeout + 5)

    async def _connect(self, jid, password, ca_file, host, port, timeout, direct_tls,
                       presence, roster):
        x = _Client(self, jid, password, host, port)
        x.loop = self.loop
        x.ca_certs = ca_file
        x.whitespace_keepalive = False
        for p in self.plugins:
            x.register_plugin(p)
        self.xmpp = x
        done = self.loop.create_future()
        why = {}

        def finish(exc):
            if not done.done():
                if exc is None:
                    done.set_result(None)
                else:
                    done.set_exception(exc)

        def on_failed_auth(st):
            why["auth"] = st["condition"] or "failure"

        def on_stream_error(err):
            why["stream"] = "%s %s" % (err["condition"], err["text"] or "")

        x.add_event_handler("session_start", lambda _: finish(None))
        x.add_event_handler("failed_auth", on_failed_auth)
        x.add_event_handler("failed_all_auth", lambda _: finish(AuthError(
            "%s: authentication failed (%s)" % (jid, why.get("auth", "no usable mechanism")))))
        x.add_event_handler("ssl_invalid_chain", lambda e: finish(TLSError(
            "%s: TLS certificate not accepted: %s" % (jid, e))))
        x.add_event_handler("stream_error", on_stream_error)
        x.add_event_handler("connection_failed", lambda e: finish(ConnectError(
            "%s: cannot connect to %s:%d: %s" % (jid, host, port, e))))
        x.add_event_handler("disconnected", lambda r: finish(ConnectError(
            "%s: disconnected before the session started%s" % (
                jid, (": " + why["stream"]) if "stream" in why else
                (" (authentication: %s)" % why["auth"]) if "auth" in why else ""))))
        # slixmpp checks the certificate against default_domain, which it
        # leaves "" (no name check at all) when connect() gets an IP address.
        x.default_domain = x.boundjid.domain
        x.connect((host, port), use_ssl=direct_tls, force_starttls=not direct_tls,
                  disable_starttls=direct_tls)
        try:
            await asyncio.wait_for(asyncio.shield(done), timeout)
        except asyncio.TimeoutError:
            finish(ConnectError("%s: no session within %s s%s" % (
                jid, timeout, (": " + why["stream"]) if "stream" in why else "")))
        except BotError:
            pass
        if done.exception() is not None:
            x.cancel_connection_attempt()     # slixmpp would otherwise retry forever
            _drop(x)
            raise done.exception()
        if roster:
            await x.get_roster(timeout=timeout)
        if presence:
            x.send_presence()
        return self

    def connected(self):
        return self.xmpp is not None and self._call(lambda: self.xmpp.is_connected())

    def disconnect(self, timeout=5):
        """Close the stream (</stream:stream>) and wait for the server's end,
        at most `timeout` s; then drop the socket."""
        if self.xmpp is None or not self._thread.is_alive():
            return

        async def go():
            x = self.xmpp
            x.cancel_connection_attempt()
            if x.transport is not None:
                try:
                    await asyncio.wait_for(x.disconnect(wait=timeout - 1), timeout)
                except (asyncio.TimeoutError, Exception):
                    pass
                _drop(x)
        self._call(go, timeout=timeout + 2)

    def abort(self):
        """Drop the TCP connection without closing the stream (a client crash)."""
        if self.xmpp is not None and self._thread.is_alive():
            self._call(_drop, self.xmpp)

    def stop(self, timeout=5):
        """disconnect() and end the thread."""
        try:
            if self._thread.is_alive():
                self.disconnect(timeout)
        finally:
            if self._thread.is_alive():
                self.loop.call_soon_threadsafe(self.loop.stop)
                self._thread.join(timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    # ----- what we received -----

    def _record(self, xml):
        e = copy.deepcopy(xml)
        if e.tag == "{%s}features" % NS_STREAM:
            self.features = e
        with self._cond:
            self._received.append(e)
            self._cond.notify_all()

    def mark(self):
        """A position in the received list; pass it as wait_for(after=...)."""
        with self._cond:
            return len(self._received)

    def received(self, after=0):
        """A copy of everything received so far (from position `after`)."""
        with self._cond:
            return list(self._received[after:])

    def wait_for(self, pred, timeout=10, after=0, consume=True, what=None):
        """The first element received (at position >= after, not yet taken
        by an earlier wait_for) for which pred(element) is true; waits at
        most `timeout` s, then raises TimeoutError listing what did arrive."""
        end = time.monotonic() + timeout
        with self._cond:
            i = after
            while True:
                while i < len(self._received):
                    if i not in self._taken:
                        e = self._received[i]
                        try:
                            ok = pred(e)
                        except Exception:
                            ok = False
                        if ok:
                            if consume:
                                self._taken.add(i)
                            return e
                    i += 1
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            got = "\n  ".join(xml(e)[:300] for e in self._received[after:][-10:])
        raise TimeoutError("%s: %s not received within %s s; last received:\n  %s"
                           % (self.name, what or "expected stanza", timeout, got or "(nothing)"))

    def sasl_mechanisms(self):
        """The SASL mechanisms the server offered (from the stream features)."""
        for e in self.received():
            m = e.find("{%s}mechanisms" % NS_SASL)
            if e.tag == "{%s}features" % NS_STREAM and m is not None:
                return [x.text for x in m.findall("{%s}mechanism" % NS_SASL)]
        return None

    # ----- sending -----

    def send_message(self, to, body=None, type="chat", extra=None, id=None):
        """Send a message; returns its id.  extra: XML string/element(s) to add."""
        def go():
            m = self.xmpp.make_message(mto=to, mbody=body, mtype=type)
            m["id"] = id or self.xmpp.new_id()
            for x in _as_list(extra):
                m.append(parse(x))
            m.send()
            return m["id"]
        return self._call(go)

    def send_presence(self, to=None, type=None, show=None, status=None, priority=None,
                      extra=None):
        """Send presence (available by default; type e.g. "unavailable", "subscribe")."""
        def go():
            p = self.xmpp.make_presence(pto=to, ptype=type, pshow=show, pstatus=status,
                                        ppriority=priority)
            for x in _as_list(extra):
                p.append(parse(x))
            p.send()
        self._call(go)

    def send(self, stanza):
        """Send any stanza given as XML (string or element) as it is; an iq is
        NOT waited for (use send_iq).  Returns its id (one is added if missing)."""
        def go():
            e = copy.deepcopy(parse(stanza))
            cls = {"message": Message, "presence": Presence, "iq": Iq}.get(local(e))
            if cls is None:
                self.xmpp.send_raw(tostring(e, top_level=True))
                return None
            st = cls(self.xmpp, xml=e)
            if not st["id"]:
                st["id"] = self.xmpp.new_id()
            self.xmpp.send(st)
            return st["id"]
        return self._call(go)

    def send_iq(self, stanza, timeout=10):
        """Send an iq (XML string or element) and return the reply element,
        result or error.  Raises TimeoutError if none comes in `timeout` s."""
        async def go():
            e = copy.deepcopy(parse(stanza))
            iq = Iq(self.xmpp, xml=e)
            if not iq["id"]:
                iq["id"] = self.xmpp.new_id()
            try:
                r = await iq.send(timeout=timeout)
            except IqError as err:
                r = err.iq
            except IqTimeout:
                raise TimeoutError("%s: no reply to iq %s within %s s" % (self.name, iq["id"], timeout))
            return copy.deepcopy(r.xml)
        return self._call(go, timeout=timeout + 5)

    def iq_query(self, to, payload, type="get", timeout=10):
        """send_iq of <iq type=TYPE to=TO>PAYLOAD</iq>; returns the reply element."""
        e = ET.Element("{%s}iq" % NS_CLIENT, {"type": type})
        if to:
            e.set("to", str(to))
        e.append(parse(payload))
        return self.send_iq(e, timeout)

    def join_muc(self, room, nick, timeout=10, password=None, history=0):
        """Join room (bare JID) as nick; waits for our own presence from the
        room.  Returns that presence element.  Raises BotError on an error."""
        async def go():
            try:
                res = await self.xmpp.plugin["xep_0045"].join_muc_wait(
                    room, nick, password=password, maxstanzas=history, timeout=timeout)
            except PresenceError as err:
                raise BotError("%s: cannot join %s: %s" % (self.name, room, err.condition))
            except asyncio.TimeoutError:
                raise TimeoutError("%s: not in %s within %s s" % (self.name, room, timeout))
            return copy.deepcopy(res[0].xml)
        return self._call(go, timeout=timeout + 5)

    # ----- automatic answers -----

    def auto_reply_iq(self, match, reply=None, types=("get", "set")):
        """Answer matching incoming iq get/set automatically.

        match: a namespace ("urn:xmpp:jingle:1": any iq whose payload is in
        it) or a predicate over the iq element.
        reply: None (an empty result), an XML payload (string/element) put in
        the result, an IqErrorReply, or a function(iq element) returning one
        of those.  Do not match what a loaded plugin already answers (disco,
        ping): both would reply.  Returns a handle for remove_auto_reply()."""
        if isinstance(match, str):
            ns = match
            pred = lambda e: any(c.tag.startswith("{%s}" % ns) for c in e)
        else:
            pred = match

        def full(e):
            return e.tag == "{%s}iq" % NS_CLIENT and e.get("type") in types and pred(e)

        def handler(iq):
            r = reply(copy.deepcopy(iq.xml)) if callable(reply) else reply
            if isinstance(r, IqErrorReply):
                res = iq.reply(clear=True)
                res["type"] = "error"
                res["error"]["type"] = r.etype
                res["error"]["condition"] = r.condition
                if r.text:
                    res["error"]["text"] = r.text
            else:
                res = iq.reply(clear=True)
                for x in _as_list(r):
                    res.append(parse(x))
            res.send()

        name = "rx-auto-%d" % len(self._auto)
        h = Callback(name, _Pred(full), handler)

        def go():
            self.xmpp.register_handler(h)
        self._call(go)
        self._auto.append(name)
        return name

    def remove_auto_reply(self, handle):
        self._call(self.xmpp.remove_handler, handle)


def _drop(x):
    """Close the socket now.  Not slixmpp's abort(): it calls close() then
    abort() on the transport, and an SSL transport that is already closing
    raises AttributeError there (seen when the server has just refused us)."""
    x.cancel_connection_attempt()
    t = x.transport
    if t is not None:
        try:
            t.abort()
        except Exception:
            pass


def _as_list(x):
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]


# ----- small helpers for predicates -----

def local(e):
    """The tag without its namespace."""
    return e.tag.rsplit("}", 1)[-1]


def child(e, name, ns=NS_CLIENT):
    return e.find("{%s}%s" % (ns, name)) if ns else e.find(name)


def xml(e):
    """An element as XML text, namespaces written as xmlns= (no ns0: prefixes)."""
    return tostring(e, top_level=True)


def _bare(j):
    return (j or "").split("/")[0]


def is_message(body=None, frm=None, type=None):
    """Predicate: a message, with this body / sender (bare or full JID) / type."""
    def p(e):
        if e.tag != "{%s}message" % NS_CLIENT:
            return False
        if type is not None and (e.get("type") or "normal") != type:
            return False
        if frm is not None and e.get("from") != frm and _bare(e.get("from")) != frm:
            return False
        if body is not None:
            b = child(e, "body")
            return b is not None and b.text == body
        return True
    return p


def is_presence(frm=None, type=None):
    """Predicate: a presence; type None means available (no type attribute)."""
    def p(e):
        if e.tag != "{%s}presence" % NS_CLIENT:
            return False
        if e.get("type") != type:
            return False
        return frm is None or e.get("from") == frm or _bare(e.get("from")) == frm
    return p


def is_iq(type=None, ns=None, frm=None, id=None):
    def p(e):
        if e.tag != "{%s}iq" % NS_CLIENT:
            return False
        if type is not None and e.get("type") != type:
            return False
        if id is not None and e.get("id") != id:
            return False
        if frm is not None and e.get("from") != frm and _bare(e.get("from")) != frm:
            return False
        return ns is None or any(c.tag.startswith("{%s}" % ns) for c in e)
    return p
