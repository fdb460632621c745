// Sparse page contents: what a page reads is what was written, across chunk boundaries; what
// was never written costs nothing; copies share chunks until written.

import Testing
import UVMMachine
import UVMSched

@Suite struct PageContentsTests {
    let pageSize = 4096

    @Test func writesAcrossChunkBoundariesReadBack() {
        var c = PageContents()
        let bytes = (0..<600).map { UInt8(truncatingIfNeeded: $0 * 7 + 1) }
        c.write(200, bytes[...], pageSize: pageSize)
        #expect(c.read(200, 600) == bytes)
        #expect(c.read(199) == 0 && c.read(800) == 0)
        #expect(c.read(0, 200) == [UInt8](repeating: 0, count: 200))
        #expect(c.firstByte(in: 0..<4096, notEqualTo: 0) == 200)
        #expect(c.firstByte(in: 200..<800, notEqualTo: 1) == 201)
        c.fill(4000, 96, 0xee, pageSize: pageSize)
        #expect(c.read(4095) == 0xee && c.read(3999) == 0)
        let whole = try! #require(c.bytes(pageSize: pageSize))
        #expect(whole.count == pageSize && Array(whole[200..<800]) == bytes && whole[4000] == 0xee)
        #expect(PageContents(bytes: whole, pageSize: pageSize).firstDifference(from: c) == nil)
    }

    /// `firstByte` scans eight bytes at a time: every start, end and odd byte placed anywhere
    /// around a word agrees with a byte-by-byte scan of the same page.
    @Test func theWordScanFindsTheSameByteAsAByteScan() {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            var c = PageContents()
            let fill = UInt8.random(in: 0...2, using: &rng)
            c.fill(0, pageSize, fill, pageSize: pageSize)
            for _ in 0..<Int.random(in: 0...3, using: &rng) {
                c.write(Int.random(in: 0..<pageSize, using: &rng), UInt8.random(in: 0...2, using: &rng), pageSize: pageSize)
            }
            let lo = Int.random(in: 0..<pageSize, using: &rng), hi = Int.random(in: lo...pageSize, using: &rng)
            let byte = UInt8.random(in: 0...2, using: &rng)
            let bytes = c.read(0, pageSize)
            let expected = (lo..<hi).first { bytes[$0] != byte }
            #expect(c.firstByte(in: lo..<hi, notEqualTo: byte) == expected, "\(lo)..<\(hi) \(byte)")
        }
    }

    @Test func zerosCostNothingAndReadAsZeros() {
        var c = PageContents()
        c.write(17, 0, pageSize: pageSize)
        c.fill(0, pageSize, 0, pageSize: pageSize)
        c.write(100, [0, 0, 0][...], pageSize: pageSize)
        #expect(c.isUntouched)
        #expect(c.bytes(pageSize: pageSize) == nil)
        #expect(c.firstByte(in: 0..<pageSize, notEqualTo: 0) == nil)
        #expect(c.firstByte(in: 10..<20, notEqualTo: 5) == 10)
        #expect(PageContents(bytes: [UInt8](repeating: 0, count: pageSize), pageSize: pageSize).isUntouched)
    }

    @Test func aCopyKeepsItsBytesWhenTheOriginalIsWritten() {
        var original = PageContents()
        original.fill(0, pageSize, 0x11, pageSize: pageSize)
        let copy = original
        #expect(original.firstDifference(from: copy) == nil)
        original.write(3000, 0x22, pageSize: pageSize)
        #expect(copy.read(3000) == 0x11)
        #expect(original.firstDifference(from: copy) == 3000)
        #expect(copy.firstDifference(from: PageContents()) == 0)
    }
}
