"""Adaptive multi-symbol arithmetic coder (integer, 32-bit, bit-plus-follow) for label maps.

The semantic stream's symbols number a few thousand per clip, so a pure-Python coder is fast
enough, and it lets context models adapt as they code (what a general-purpose compressor cannot
do with a ~60-byte header and no notion of 2-D neighbourhoods).
"""

from __future__ import annotations

PRECISION = 32
FULL = (1 << PRECISION) - 1
HALF = 1 << (PRECISION - 1)
QUARTER = 1 << (PRECISION - 2)
MAX_TOTAL = 1 << 16


class AdaptiveModel:
    """Symbol frequencies that adapt as symbols are coded (same updates on both sides)."""

    def __init__(self, num_symbols: int, increment: int = 24) -> None:
        self.freqs = [1] * num_symbols
        self.total = num_symbols
        self.increment = increment

    def interval(self, symbol: int) -> tuple[int, int, int]:
        low = sum(self.freqs[:symbol])
        return low, low + self.freqs[symbol], self.total

    def find(self, target: int) -> tuple[int, int, int]:
        """The symbol whose cumulative interval holds `target`, with that interval."""
        low = 0
        for symbol, freq in enumerate(self.freqs):
            if target < low + freq:
                return symbol, low, low + freq
            low += freq
        raise ValueError("corrupt arithmetic-coded stream")

    def update(self, symbol: int) -> None:
        self.freqs[symbol] += self.increment
        self.total += self.increment
        if self.total > MAX_TOTAL:
            self.freqs = [(f + 1) // 2 for f in self.freqs]
            self.total = sum(self.freqs)


class Encoder:
    """Writes symbols under adaptive models; finish() returns the bytes."""

    def __init__(self) -> None:
        self.low, self.high, self.pending = 0, FULL, 0
        self.bits: list[int] = []

    def _emit(self, bit: int) -> None:
        self.bits.append(bit)
        self.bits.extend([1 - bit] * self.pending)
        self.pending = 0

    def encode(self, symbol: int, model: AdaptiveModel) -> None:
        lo, hi, total = model.interval(symbol)
        span = self.high - self.low + 1
        self.high = self.low + span * hi // total - 1
        self.low = self.low + span * lo // total
        while True:
            if self.high < HALF:
                self._emit(0)
            elif self.low >= HALF:
                self._emit(1)
                self.low -= HALF
                self.high -= HALF
            elif self.low >= QUARTER and self.high < HALF + QUARTER:
                self.pending += 1
                self.low -= QUARTER
                self.high -= QUARTER
            else:
                break
            self.low, self.high = 2 * self.low, 2 * self.high + 1
        model.update(symbol)

    def finish(self) -> bytes:
        self.pending += 1
        self._emit(0 if self.low < QUARTER else 1)
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


class Decoder:
    """Reads back what Encoder wrote, given the same sequence of models."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0
        self.low, self.high, self.value = 0, FULL, 0
        for _ in range(PRECISION):
            self.value = (self.value << 1) | self._bit()

    def _bit(self) -> int:
        byte, offset = divmod(self.pos, 8)
        self.pos += 1
        if byte >= len(self.data):
            return 0
        return (self.data[byte] >> (7 - offset)) & 1

    def decode(self, model: AdaptiveModel) -> int:
        span = self.high - self.low + 1
        target = ((self.value - self.low + 1) * model.total - 1) // span
        symbol, lo, hi = model.find(target)
        self.high = self.low + span * hi // model.total - 1
        self.low = self.low + span * lo // model.total
        while True:
            if self.high < HALF:
                pass
            elif self.low >= HALF:
                self.low -= HALF
                self.high -= HALF
                self.value -= HALF
            elif self.low >= QUARTER and self.high < HALF + QUARTER:
                self.low -= QUARTER
                self.high -= QUARTER
                self.value -= QUARTER
            else:
                break
            self.low, self.high = 2 * self.low, 2 * self.high + 1
            self.value = (self.value << 1) | self._bit()
        model.update(symbol)
        return symbol
