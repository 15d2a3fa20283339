# SPDX-License-Identifier: MIT
"""charnn from Python: load a checkpoint, sample, score and evaluate text,
and train a model from the library's defaults with settings by name.

    import charnn
    m = charnn.load("input.best.ckpt")
    print(m.sample(length=300, seed=5, temperature=0.9))  # what charnn sample prints
    print(m.eval("First Citizen:\\n"))                   # nats/char, as charnn eval

The module calls libcharnn (the shared library) through ctypes, the standard
library's; it needs nothing else. It looks for the library in this order:
the path in the environment variable CHARNN_LIB; where make install put it;
the system's library path (ctypes.util.find_library); the source tree's
build/libcharnn.so next to this file's src/python/. No C struct crosses the
boundary but CnError, a buffer of CN_ERRLEN bytes (tests/test_python.sh
checks its size against C's): handles, numbers and strings only.
"""

import ctypes
import ctypes.util
import math
import os

__all__ = ["Error", "Model", "load", "train", "library"]

_API = "0.4"  # the library's major.minor this module is written for (charnn.h's version)
_INSTALLED = None  # make install writes the installed library's path here
_ERRLEN = 320  # sizeof(CnError): CN_ERRLEN bytes of message
_STEP_OK, _STEP_DIVERGED, _STEP_BAD_TEXT = 0, 1, 2  # CnStepResult


class Error(Exception):
    """A refusal or failure of the library, with its one-line message."""


def _candidates():
    env = os.environ.get("CHARNN_LIB")
    if env:
        return [("CHARNN_LIB", env)]
    found = []
    if _INSTALLED:
        found.append(("make install's", _INSTALLED))
    system = ctypes.util.find_library("charnn")
    if system:
        found.append(("the system's", system))
    here = os.path.dirname(os.path.abspath(__file__))
    found.append(("the source tree's", os.path.join(here, "..", "..", "build", "libcharnn.so")))
    return found


def _open():
    tried = []
    for where, path in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            if where == "CHARNN_LIB":
                raise ImportError("charnn: CHARNN_LIB=%s cannot be loaded (%s); set it to the "
                                  "path of libcharnn.so, or unset it" % (path, e)) from None
            tried.append(path)
            continue
        lib.cn_version.restype = ctypes.c_char_p
        version = lib.cn_version().decode()
        if not version.startswith(_API + "."):
            raise ImportError("charnn: %s is libcharnn %s, this module needs %s.x; set "
                              "CHARNN_LIB to a libcharnn.so of %s.x" % (path, version, _API, _API))
        return lib, os.path.normpath(path)
    raise ImportError("charnn: libcharnn.so not found (tried %s); build it with make, install it "
                      "with make install, or set CHARNN_LIB to its path" % ", ".join(tried))


_lib, library = _open()  # library: the path loaded

_P = ctypes.c_void_p
_SZ = ctypes.c_size_t


def _sig(name, restype, *argtypes):
    f = getattr(_lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_sig("cn_cpu_count", ctypes.c_int)
_sig("cn_text_from_memory", _P, ctypes.c_char_p, _SZ, ctypes.c_char_p, _P)
_sig("cn_text_load", _P, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, _P)
_sig("cn_text_chars", _SZ, _P)
_sig("cn_text_free", None, _P)
_sig("cn_checkpoint_load", _P, ctypes.c_char_p, _P)
_sig("cn_checkpoint_model", _P, _P)
_sig("cn_checkpoint_settings", _P, _P)
_sig("cn_checkpoint_free", None, _P)
_sig("cn_model_params", _SZ, _P)
_sig("cn_model_vocab_size", ctypes.c_int, _P)
_sig("cn_model_vocab", ctypes.POINTER(ctypes.c_uint32), _P)
_sig("cn_settings_new", _P)
_sig("cn_settings_free", None, _P)
_sig("cn_settings_set", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_char_p, _P)
_sig("cn_settings_get", ctypes.c_int, _P, ctypes.c_char_p, ctypes.c_char_p, _SZ)
_sig("cn_settings_shape", _P, _P)
_sig("cn_threads_for", ctypes.c_int, _P, ctypes.c_int, ctypes.c_int)
_sig("cn_sample_text", ctypes.c_int, _P, ctypes.c_char_p, _SZ, _SZ, ctypes.c_uint64,
     ctypes.c_double, ctypes.c_int, ctypes.c_double, ctypes.c_char_p, ctypes.POINTER(_SZ), _P)
_sig("cn_evaluate", ctypes.c_double, _P, _P, ctypes.c_int, ctypes.c_int, ctypes.POINTER(_SZ), _P)
_sig("cn_evaluate_each", ctypes.c_double, _P, _P, ctypes.c_int, ctypes.POINTER(ctypes.c_double),
     ctypes.POINTER(_SZ), _P)
_sig("cn_trainer_start", _P, _P, _P, ctypes.c_int, _P)
_sig("cn_trainer_set_target", None, _P, ctypes.c_uint64)
_sig("cn_trainer_step", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_double))
_sig("cn_trainer_validate", ctypes.c_int, _P, ctypes.POINTER(ctypes.c_double), _P)
_sig("cn_trainer_save", ctypes.c_int, _P, ctypes.c_char_p, _P)
_sig("cn_trainer_model", _P, _P)
_sig("cn_trainer_free", None, _P)


def _abi():
    """What this module assumes of the C side (tests/abi.c prints C's view)."""
    return ("sizeof CnError %d\nCN_STEP_OK %d\nCN_STEP_DIVERGED %d\nCN_STEP_BAD_TEXT %d\n"
            "version %s\n" % (_ERRLEN, _STEP_OK, _STEP_DIVERGED, _STEP_BAD_TEXT, _API))


def _error():
    return ctypes.create_string_buffer(_ERRLEN)


def _fail(err):
    raise Error(err.value.decode("utf-8", "replace"))


def _is_path(text_or_path):
    if isinstance(text_or_path, os.PathLike):
        return True
    return (isinstance(text_or_path, str) and "\n" not in text_or_path and
            os.path.isfile(text_or_path))


def _text(text_or_path):
    """A CnText of a path (os.PathLike, or a str naming an existing file) or of the text."""
    err = _error()
    if _is_path(text_or_path):
        paths = (ctypes.c_char_p * 1)(os.fsencode(text_or_path))
        t = _lib.cn_text_load(paths, 1, err)
    else:
        data = text_or_path.encode() if isinstance(text_or_path, str) else bytes(text_or_path)
        t = _lib.cn_text_from_memory(data, len(data), b"the text", err)
    if not t:
        _fail(err)
    return t


def _setting_name(name):
    return name.replace("_", "-")  # seq_length -> seq-length


def _threads(settings, streams, threads):
    if threads:
        return int(threads)
    return _lib.cn_threads_for(_lib.cn_settings_shape(settings), streams, _lib.cn_cpu_count())


class Model:
    """A model: a checkpoint's (load) or a run's (train). Its settings are
    the library's by name (setting); free it with close() or a with block."""

    def __init__(self, ck=None, trainer=None, settings=None, text=None):
        self._ck, self._tr, self._settings, self._text = ck, trainer, settings, text
        self._model = _lib.cn_checkpoint_model(ck) if ck else _lib.cn_trainer_model(trainer)
        self.losses = []  # train: each step's loss, nats/char
        self.val_loss = math.nan  # train: the validation loss at the end; NaN: no held-out tail

    def close(self):
        if self._ck:
            _lib.cn_checkpoint_free(self._ck)
        if self._tr:
            _lib.cn_trainer_free(self._tr)
        if self._text:  # the trainer's corpus, which it reads from
            _lib.cn_text_free(self._text)
        if self._settings:
            _lib.cn_settings_free(self._settings)
        self._ck = self._tr = self._text = self._settings = self._model = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if _lib is not None and getattr(self, "_model", None):
            self.close()

    def _live(self):
        if not self._model:
            raise Error("the model is closed; load it again")
        return self._model

    @property
    def params(self):
        """The number of parameters."""
        return _lib.cn_model_params(self._live())

    @property
    def vocab(self):
        """The vocabulary, its characters in increasing order."""
        v = _lib.cn_model_vocab(self._live())
        return "".join(chr(v[i]) for i in range(_lib.cn_model_vocab_size(self._model)))

    def setting(self, name):
        """A setting by name, as text: "hidden" -> "512", "seq_length" or "seq-length"."""
        self._live()
        out = ctypes.create_string_buffer(128)
        if _lib.cn_settings_get(self._settings, _setting_name(name).encode(), out, 128) != 0:
            raise Error("there is no setting '%s'" % _setting_name(name))
        return out.value.decode()

    def sample(self, length=1000, seed=1, temperature=1.0, top_k=0, top_p=1.0, prime=""):
        """What `charnn sample CKPT` prints with the same flags, but its last
        newline: the prime, then `length` characters drawn (after an empty
        prime, from a newline run through the model unprinted)."""
        model = self._live()
        data = prime.encode()
        if length < 0 or seed < 0:
            raise Error("%s %d is negative; give 0 or more" %
                        (("length", length) if length < 0 else ("seed", seed)))
        out = ctypes.create_string_buffer(len(data) + 4 * length + 1)
        n, err = _SZ(), _error()
        if _lib.cn_sample_text(model, data, len(data), length, seed, temperature, top_k, top_p,
                               out, ctypes.byref(n), err) != 0:
            _fail(err)
        return out.raw[:n.value].decode()

    def eval(self, text, seq_length=256, threads=None):
        """The mean -ln p per character over text's N-1 predictions, from a zero
        state (charnn eval's first number). text: the text, or a file's path."""
        model, t = self._live(), _text(text)
        try:
            count, err = _SZ(), _error()
            loss = _lib.cn_evaluate(model, t, seq_length, _threads(self._settings, 1, threads),
                                    ctypes.byref(count), err)
            if math.isnan(loss):
                _fail(err)
            return loss
        finally:
            _lib.cn_text_free(t)

    def score(self, text, threads=None):
        """Each prediction's -ln p, in nats: row pos predicts character pos+1
        (charnn score's rows give bits = nats / ln 2); their mean is eval's."""
        model, t = self._live(), _text(text)
        try:
            n = _lib.cn_text_chars(t)
            if n < 2:
                raise Error("the text has %d character%s; scoring needs at least 2" %
                            (n, "" if n == 1 else "s"))
            nats = (ctypes.c_double * (n - 1))()
            count, err = _SZ(), _error()
            loss = _lib.cn_evaluate_each(model, t, _threads(self._settings, 1, threads), nats,
                                         ctypes.byref(count), err)
            if math.isnan(loss):
                _fail(err)
            return list(nats)
        finally:
            _lib.cn_text_free(t)

    def save(self, path):
        """Saves a trained model's checkpoint (charnn can resume, sample and eval it)."""
        self._live()
        if not self._tr:
            raise Error("the model was loaded, not trained here; its checkpoint is already saved")
        err = _error()
        if _lib.cn_trainer_save(self._tr, os.fsencode(path), err) != 0:
            _fail(err)


def load(path):
    """The model of a checkpoint."""
    err = _error()
    ck = _lib.cn_checkpoint_load(os.fsencode(path), err)
    if not ck:
        _fail(err)
    settings = _lib.cn_checkpoint_settings(ck)
    if not settings:
        _lib.cn_checkpoint_free(ck)
        raise Error("out of memory")
    return Model(ck=ck, settings=settings)


def train(text_or_path, iters, checkpoint=None, threads=None, **settings):
    """A new model trained for `iters` iterations on a text (or a file's path)
    from the library's defaults (charnn train's), any setting given by name:
    train("input.txt", iters=100, hidden=128, seq_length=32, lr=0.002). Ends with
    a validation (val_loss, on the held-out tail); saves to checkpoint if given."""
    if iters < 1:
        raise Error("iters %d: give at least 1 iteration" % iters)
    s = _lib.cn_settings_new()
    if not s:
        raise Error("out of memory")
    t = tr = None
    try:
        err = _error()
        for name, value in settings.items():
            if isinstance(value, bool) or value is None:
                raise Error("%s %r is not a setting's value; give a number or a name" %
                            (_setting_name(name), value))
            if _lib.cn_settings_set(s, _setting_name(name).encode(), str(value).encode(), err):
                _fail(err)
        t = _text(text_or_path)
        tr = _lib.cn_trainer_start(t, s, _threads(s, int(_get(s, "batch")), threads), err)
        if not tr:
            _fail(err)
        _lib.cn_trainer_set_target(tr, iters)  # the schedule runs over these iterations
        model = Model(trainer=tr, settings=s, text=t)
        s = tr = t = None  # the model owns them now
        loss = ctypes.c_double()
        for i in range(iters):
            got = _lib.cn_trainer_step(model._tr, ctypes.byref(loss))
            if got == _STEP_DIVERGED:
                raise Error("training diverged at iteration %d (loss %g); give a smaller "
                            "'lr' or a 'clip-norm'" % (i + 1, loss.value))
            if got != _STEP_OK:
                raise Error("a step found a character outside the vocabulary")
            model.losses.append(loss.value)
        if _lib.cn_trainer_validate(model._tr, ctypes.byref(loss), err) < 0:
            _fail(err)
        model.val_loss = loss.value
        if checkpoint is not None:
            model.save(checkpoint)
        return model
    finally:
        if tr:
            _lib.cn_trainer_free(tr)
        if s:
            _lib.cn_settings_free(s)
        if t:
            _lib.cn_text_free(t)


def _get(settings, name):
    out = ctypes.create_string_buffer(128)
    _lib.cn_settings_get(settings, name.encode(), out, 128)
    return out.value.decode()
