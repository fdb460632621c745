// A physical page's bytes, sparse: kept in chunks made on first write. A page costs for its
// contents only what was written to it, so a first store faults in one chunk, not a zeroed page
// (the host's own first touch of fresh memory is what that would cost), and a copy-on-write copy
// shares every chunk until one is written, which then copies that chunk alone.

/// The bytes of one page. Untouched chunks read as zeros and take no memory; the page size is
/// the caller's (every mutation names it), so an empty value is a zero page of any size.
///
/// A value type: copies share their chunks until written (each chunk is copy-on-write).
public struct PageContents {
    /// Bytes per chunk: what a first store to a page allocates, and a write to a shared copy
    /// copies.
    public static let chunkSize = 256

    /// One slot per chunk of the page, nil while the chunk is all zeros; empty for a page never
    /// written.
    private var chunks: [[UInt8]?] = []

    /// A page of zeros.
    public init() {}

    /// The page holding `bytes` (nil: zeros), for a page read from disk or swap. O(page size).
    public init(bytes: [UInt8]?, pageSize: Int) {
        guard let bytes else { return }
        for start in stride(from: 0, to: pageSize, by: Self.chunkSize) where bytes[start..<(start + Self.chunkSize)].contains(where: { $0 != 0 }) {
            if chunks.isEmpty { chunks = Array(repeating: nil, count: pageSize / Self.chunkSize) }
            chunks[start / Self.chunkSize] = Array(bytes[start..<(start + Self.chunkSize)])
        }
    }

    /// Whether every byte is zero because none was ever written non-zero in place. O(1).
    public var isUntouched: Bool { chunks.isEmpty }

    /// The whole page as one array, nil if it is all zeros, for a write to disk or swap.
    /// O(page size).
    public func bytes(pageSize: Int) -> [UInt8]? {
        guard chunks.contains(where: { $0 != nil }) else { return nil }
        var out = [UInt8](repeating: 0, count: pageSize)
        for (c, chunk) in chunks.enumerated() {
            guard let chunk else { continue }
            out.replaceSubrange((c * Self.chunkSize)..<((c + 1) * Self.chunkSize), with: chunk)
        }
        return out
    }

    /// The byte at `offset`. O(1).
    public func read(_ offset: Int) -> UInt8 {
        guard !chunks.isEmpty, let chunk = chunks[offset / Self.chunkSize] else { return 0 }
        return chunk[offset % Self.chunkSize]
    }

    /// `count` bytes from `offset`. O(count).
    public func read(_ offset: Int, _ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard !chunks.isEmpty else { return out }
        Self.forEachPiece(offset, count) { c, inChunk, at, n in
            guard let chunk = chunks[c] else { return }
            out.replaceSubrange(at..<(at + n), with: chunk[inChunk..<(inChunk + n)])
        }
        return out
    }

    /// Stores `byte` at `offset`. O(1), plus a chunk's allocation or copy on its first write.
    public mutating func write(_ offset: Int, _ byte: UInt8, pageSize: Int) {
        let c = offset / Self.chunkSize
        if chunks.isEmpty || chunks[c] == nil {
            if byte == 0 { return }
            makeChunk(c, pageSize: pageSize)
        }
        chunks[c]![offset % Self.chunkSize] = byte
    }

    /// Stores `count` copies of `byte` from `offset`. O(count); zeros over untouched chunks
    /// cost nothing.
    public mutating func fill(_ offset: Int, _ count: Int, _ byte: UInt8, pageSize: Int) {
        Self.forEachPiece(offset, count) { c, inChunk, _, n in
            if chunks.isEmpty || chunks[c] == nil {
                if byte == 0 { return }
                makeChunk(c, pageSize: pageSize)
            }
            chunks[c]!.withUnsafeMutableBufferPointer { buf in
                for i in inChunk..<(inChunk + n) { buf[i] = byte }
            }
        }
    }

    /// Stores `bytes` from `offset`. O(bytes.count).
    public mutating func write(_ offset: Int, _ bytes: ArraySlice<UInt8>, pageSize: Int) {
        let base = bytes.startIndex
        Self.forEachPiece(offset, bytes.count) { c, inChunk, at, n in
            let piece = bytes[(base + at)..<(base + at + n)]
            if chunks.isEmpty || chunks[c] == nil {
                if !piece.contains(where: { $0 != 0 }) { return }
                makeChunk(c, pageSize: pageSize)
            }
            chunks[c]!.replaceSubrange(inChunk..<(inChunk + n), with: piece)
        }
    }

    /// The first offset in `range` whose byte is not `byte`. O(range.count), less over
    /// untouched chunks when `byte` is zero.
    public func firstByte(in range: Range<Int>, notEqualTo byte: UInt8) -> Int? {
        var found: Int?
        Self.forEachPiece(range.lowerBound, range.count) { c, inChunk, at, n in
            guard found == nil else { return }
            guard !chunks.isEmpty, let chunk = chunks[c] else {
                if byte != 0 { found = range.lowerBound + at }
                return
            }
            if let i = Self.firstIndex(in: chunk, inChunk..<(inChunk + n), notEqualTo: byte) {
                found = range.lowerBound + at + (i - inChunk)
            }
        }
        return found
    }

    /// The first index of `range` whose byte in `chunk` is not `byte`, eight bytes at a time:
    /// `check` compares whole pages, at every run of an exploration. O(range.count).
    private static func firstIndex(in chunk: [UInt8], _ range: Range<Int>, notEqualTo byte: UInt8) -> Int? {
        chunk.withUnsafeBytes { raw in
            let pattern = UInt64(byte) &* 0x0101_0101_0101_0101
            var i = range.lowerBound
            while i + 8 <= range.upperBound, raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) == pattern { i += 8 }
            while i < range.upperBound {
                if raw[i] != byte { return i }
                i += 1
            }
            return nil
        }
    }

    /// The first offset at which these bytes differ from `other`'s. O(1) per chunk the two
    /// still share, O(chunk size) per chunk either wrote since they were copied.
    public func firstDifference(from other: PageContents) -> Int? {
        for c in 0..<max(chunks.count, other.chunks.count) {
            let mine = c < chunks.count ? chunks[c] : nil
            let theirs = c < other.chunks.count ? other.chunks[c] : nil
            switch (mine, theirs) {
            case (nil, nil):
                continue
            case (let a?, nil), (nil, let a?):
                if let i = Self.firstIndex(in: a, a.indices, notEqualTo: 0) { return c * Self.chunkSize + i }
            case (let a?, let b?):
                let shared = a.withUnsafeBufferPointer { x in b.withUnsafeBufferPointer { y in x.baseAddress == y.baseAddress } }
                if !shared, let i = a.indices.first(where: { a[$0] != b[$0] }) { return c * Self.chunkSize + i }
            }
        }
        return nil
    }

    private mutating func makeChunk(_ c: Int, pageSize: Int) {
        if chunks.isEmpty { chunks = Array(repeating: nil, count: pageSize / Self.chunkSize) }
        chunks[c] = [UInt8](repeating: 0, count: Self.chunkSize)
    }

    /// Calls `body(chunk, offsetInChunk, offsetFromStart, count)` for each chunk's part of
    /// `offset ..< offset + count`, in order.
    private static func forEachPiece(_ offset: Int, _ count: Int, _ body: (Int, Int, Int, Int) -> Void) {
        var at = 0
        while at < count {
            let o = offset + at
            let inChunk = o % Self.chunkSize
            let n = min(Self.chunkSize - inChunk, count - at)
            body(o / Self.chunkSize, inChunk, at, n)
            at += n
        }
    }
}
