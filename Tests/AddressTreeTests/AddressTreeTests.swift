import AddressTree
import Testing

/// A map entry stand-in whose bounds the test mutates in place, as the VM map
/// clips its entries.
final class Range: AddressRange, CustomStringConvertible {
  var start: UInt64
  var end: UInt64

  init(_ start: UInt64, _ end: UInt64) {
    self.start = start
    self.end = end
  }

  var description: String {
    "[\(String(start, radix: 16)), \(String(end, radix: 16)))"
  }
}

/// SplitMix64: a small deterministic generator, so failures replay exactly.
struct SplitMix64 {
  var state: UInt64

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A value in `0 ..< bound`; `bound` must be positive.
  mutating func next(below bound: UInt64) -> UInt64 { next() % bound }

  mutating func chance(_ percent: UInt64) -> Bool { next(below: 100) < percent }
}

/// The reference model: the elements sorted by start, searched linearly.
struct Model {
  var elements: [Range] = []

  func index(of e: Range) -> Int? { elements.firstIndex { $0 === e } }

  func overlapsAny(_ start: UInt64, _ end: UInt64) -> Bool {
    elements.contains { $0.start < end && $0.end > start }
  }

  mutating func insert(_ e: Range) {
    let i = elements.firstIndex { $0.start > e.start } ?? elements.count
    elements.insert(e, at: i)
  }

  mutating func remove(_ e: Range) { elements.remove(at: index(of: e)!) }

  func lookup(_ a: UInt64) -> Range? { elements.first { $0.start <= a && a < $0.end } }
  func floor(_ a: UInt64) -> Range? { elements.last { $0.start <= a } }
  func ceiling(_ a: UInt64) -> Range? { elements.first { $0.start >= a } }
  func next(after a: UInt64) -> Range? { elements.first { $0.start > a } }
  func previous(before a: UInt64) -> Range? { elements.last { $0.start < a } }

  func overlapping(_ lo: UInt64, _ hi: UInt64) -> [Range] {
    lo < hi ? elements.filter { $0.start < hi && $0.end > lo } : []
  }

  /// First fit computed over the holes with 128-bit arithmetic, so that it
  /// shares no overflow reasoning with the tree.
  func findSpace(length: UInt64, alignment: UInt64, lowest: UInt64, highest: UInt64) -> UInt64? {
    let length = UInt128(length)
    let alignment = UInt128(alignment)
    var holes: [(UInt128, UInt128)] = []
    var previousEnd: UInt128 = 0
    for e in elements {
      holes.append((previousEnd, UInt128(e.start)))
      previousEnd = UInt128(e.end)
    }
    holes.append((previousEnd, UInt128(1) << 64))
    for (holeStart, holeEnd) in holes {
      let from = max(holeStart, UInt128(lowest))
      let a = (from + alignment - 1) / alignment * alignment
      if a + length <= min(holeEnd, UInt128(highest)) { return UInt64(a) }
    }
    return nil
  }
}

func expectSame(_ a: Range?, _ b: Range?, _ what: @autoclosure () -> String,
                sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(a === b, "\(what()): tree \(String(describing: a)), model \(String(describing: b))",
          sourceLocation: sourceLocation)
}

func expectSame(_ a: [Range], _ b: [Range], _ what: @autoclosure () -> String,
                sourceLocation: SourceLocation = #_sourceLocation) {
  #expect(a.count == b.count && zip(a, b).allSatisfy { $0 === $1 },
          "\(what()): tree \(a), model \(b)", sourceLocation: sourceLocation)
}

/// Runs `steps` random mutations and queries against both the tree and the
/// model, with addresses in `base ..< base + span`, comparing every answer.
func differential(seed: UInt64, base: UInt64, span: UInt64, maxLength: UInt64,
                  steps: Int, insertPercent: UInt64) {
  var rng = SplitMix64(state: seed)
  var tree = AddressTree<Range>()
  var model = Model()
  let top = base + (span - 1)  // the highest address in the universe

  func address() -> UInt64 { base + rng.next(below: span) }
  func pick() -> Range? {
    model.elements.isEmpty ? nil : model.elements[Int(rng.next(below: UInt64(model.elements.count)))]
  }

  for step in 0 ..< steps {
    let op = rng.next(below: 100)
    switch op {
    case ..<insertPercent:
      let start = address()
      guard start < top else { continue }
      let end = start + 1 + rng.next(below: min(maxLength, top - start))
      if !model.overlapsAny(start, end) {
        let e = Range(start, end)
        tree.insert(e)
        model.insert(e)
      }
    case ..<(insertPercent + 20):
      if let e = pick() {
        // Shrinking an element just before removing it needs no endDidChange.
        if rng.chance(30) { e.end = e.start + 1 + rng.next(below: e.end - e.start) }
        tree.remove(e)
        model.remove(e)
      }
    case ..<(insertPercent + 25):
      // Shrink or grow the end in place, then tell the tree.
      if let e = pick() {
        let limit = model.next(after: e.start)?.start ?? top
        e.end = e.start + 1 + rng.next(below: limit - e.start)
        tree.endDidChange(e)
      }
    case ..<(insertPercent + 30):
      // Clip in two, as uvm_map_clip_end does: no endDidChange needed.
      if let e = pick(), e.end - e.start >= 2 {
        let tail = Range(e.start + 1 + rng.next(below: e.end - e.start - 1), e.end)
        e.end = tail.start
        tree.insert(tail)
        model.insert(tail)
      }
    case ..<(insertPercent + 33):
      // Move the start up, which changes the key: remove, then insert.
      if let e = pick(), e.end - e.start >= 2 {
        tree.remove(e)
        e.start += 1 + rng.next(below: e.end - e.start - 1)
        tree.insert(e)
      }
    default:
      let a = rng.chance(10) ? (rng.chance(50) ? base : top) : address()
      expectSame(tree.lookup(a), model.lookup(a), "step \(step) lookup \(a)")
      expectSame(tree.floor(a), model.floor(a), "step \(step) floor \(a)")
      expectSame(tree.ceiling(a), model.ceiling(a), "step \(step) ceiling \(a)")
      let probe = Range(a, a &+ 1)
      expectSame(tree.next(after: probe), model.next(after: a), "step \(step) next \(a)")
      expectSame(tree.previous(before: probe), model.previous(before: a), "step \(step) previous \(a)")
      if let e = pick() {
        expectSame(tree.next(after: e), model.next(after: e.start), "step \(step) next")
        expectSame(tree.previous(before: e), model.previous(before: e.start), "step \(step) previous")
      }
      let lo = address()
      let hi = rng.chance(80) ? lo + rng.next(below: min(4 * maxLength, top - lo + 1)) : address()
      expectSame(tree.elements(overlapping: lo, hi), model.overlapping(lo, hi),
                 "step \(step) overlapping \(lo) \(hi)")

      let length: UInt64 = switch rng.next(below: 4) {
      case 0: 1
      case 1: 1 + rng.next(below: maxLength)
      case 2: 1 + rng.next(below: 4 * maxLength)
      default: 1 + rng.next(below: span)
      }
      let alignments: [UInt64] = [1, 1, 2, 3, 16, 4096, 1 << 63, 1 + rng.next(below: maxLength)]
      let alignment = alignments[Int(rng.next(below: UInt64(alignments.count)))]
      let lowest = rng.chance(10) ? 0 : address()
      let highest = rng.chance(20) ? UInt64.max : address()
      #expect(
        tree.findSpace(length: length, alignment: alignment, lowest: lowest, highest: highest)
          == model.findSpace(length: length, alignment: alignment, lowest: lowest, highest: highest),
        "step \(step) findSpace(\(length), \(alignment), \(lowest), \(highest))")
    }
    #expect(tree.count == model.elements.count)
    #expect(tree.isEmpty == model.elements.isEmpty)
    expectSame(tree.first, model.elements.first, "step \(step) first")
    expectSame(tree.last, model.elements.last, "step \(step) last")
    if step % 97 == 0 {
      expectSame(tree.elements, model.elements, "step \(step) elements")
      tree._checkInvariants()
    }
  }
  expectSame(tree.elements, model.elements, "final elements")
  var visited: [Range] = []
  tree.forEach { visited.append($0) }
  expectSame(visited, model.elements, "forEach")
  tree._checkInvariants()
}

@Suite struct AddressTreeTests {
  @Test(arguments: [1, 2, 3, 4, 5, 6] as [UInt64])
  func differentialLowAddresses(seed: UInt64) {
    differential(seed: seed, base: 0, span: 1 << 16, maxLength: 0x400,
                 steps: 4000, insertPercent: 40)
  }

  @Test(arguments: [7, 8, 9] as [UInt64])
  func differentialNearTopOfAddressSpace(seed: UInt64) {
    differential(seed: seed, base: UInt64.max - (1 << 16) + 1, span: 1 << 16, maxLength: 0x400,
                 steps: 4000, insertPercent: 40)
  }

  @Test func differentialDenseSmallUniverse() {
    // Few addresses, so inserts collide and holes are often exactly full.
    differential(seed: 10, base: 0, span: 64, maxLength: 4, steps: 5000, insertPercent: 45)
  }

  @Test func differentialLargeTree() {
    // Beyond the size at which debug builds check whole trees per mutation.
    differential(seed: 11, base: 0x1000, span: 1 << 28, maxLength: 0x1000,
                 steps: 12000, insertPercent: 60)
  }

  @Test func emptyTree() {
    let tree = AddressTree<Range>()
    let probe = Range(0x1000, 0x2000)
    #expect(tree.count == 0)
    #expect(tree.isEmpty)
    #expect(tree.first == nil && tree.last == nil)
    #expect(tree.lookup(0) == nil && tree.lookup(.max) == nil)
    #expect(tree.floor(.max) == nil && tree.ceiling(0) == nil)
    #expect(tree.next(after: probe) == nil && tree.previous(before: probe) == nil)
    #expect(tree.elements.isEmpty)
    #expect(tree.elements(overlapping: 0, .max).isEmpty)
    var calls = 0
    tree.forEach { _ in calls += 1 }
    #expect(calls == 0)
    #expect(tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: 0x1234, highest: .max) == 0x2000)
    #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: 0, highest: 0xFFF) == nil)
    #expect(tree.findSpace(length: 1, alignment: 1, lowest: .max - 1, highest: .max) == UInt64.max - 1)
    #expect(tree.findSpace(length: 1, alignment: 1, lowest: .max, highest: .max) == nil)
    #expect(tree.findSpace(length: 1, alignment: 1 << 63, lowest: (1 << 63) + 1, highest: .max) == nil)
    #expect(tree.findSpace(length: .max, alignment: 1, lowest: 0, highest: .max) == 0)
    tree._checkInvariants()
  }

  @Test func topOfAddressSpace() {
    var tree = AddressTree<Range>()
    let top = Range(.max - 0x1000, .max)
    let below = Range(.max - 0x3000, .max - 0x2000)
    tree.insert(top)
    tree.insert(below)
    #expect(tree.lookup(.max - 1) === top)
    #expect(tree.lookup(.max) == nil)
    #expect(tree.floor(.max) === top)
    #expect(tree.ceiling(.max) == nil)
    #expect(tree.ceiling(.max - 0x1000) === top)
    #expect(tree.next(after: below) === top && tree.next(after: top) == nil)
    #expect(tree.previous(before: top) === below)
    expectSame(tree.elements(overlapping: .max - 0x2800, .max), [below, top], "overlapping")
    let m = UInt64.max
    #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: m - 0x4000, highest: m) == m - 0x4000)
    // The aligned slots at m - 0x3FFF and m - 0x1FFF each straddle an element.
    #expect(tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: m - 0x4000, highest: m) == nil)
    #expect(tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: m - 0x5000, highest: m) == m - 0x4FFF)
    #expect(tree.findSpace(length: 0x1000, alignment: 1, lowest: .max - 0x2000, highest: .max)
            == UInt64.max - 0x2000)
    #expect(tree.findSpace(length: 0x1001, alignment: 1, lowest: .max - 0x2000, highest: .max) == nil)
    tree.remove(top)
    #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: .max - 0x2000, highest: .max)
            == UInt64.max - 0x2000)
    #expect(tree.findSpace(length: 1, alignment: 1, lowest: .max - 1, highest: .max) == UInt64.max - 1)
    tree._checkInvariants()
  }

  @Test func endDidChangeAfterInPlaceShrinkAndGrowth() {
    var tree = AddressTree<Range>()
    let a = Range(0x1000, 0x5000)
    let b = Range(0x9000, 0xA000)
    tree.insert(a)
    tree.insert(b)
    #expect(tree.findSpace(length: 0x4000, alignment: 0x1000, lowest: 0, highest: .max) == 0x5000)
    #expect(tree.findSpace(length: 0x6000, alignment: 0x1000, lowest: 0, highest: .max) == 0xA000)

    a.end = 0x2000
    tree.endDidChange(a)
    tree._checkInvariants()
    #expect(tree.lookup(0x3000) == nil)
    #expect(tree.findSpace(length: 0x6000, alignment: 0x1000, lowest: 0, highest: .max) == 0x2000)

    a.end = 0x8000
    tree.endDidChange(a)
    tree._checkInvariants()
    #expect(tree.lookup(0x7FFF) === a)
    #expect(tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: 0x1000, highest: .max) == 0x8000)
    #expect(tree.findSpace(length: 0x2000, alignment: 0x1000, lowest: 0x1000, highest: .max) == 0xA000)

    b.end = 0x9001  // the last element: only the unbounded hole moves
    tree.endDidChange(b)
    #expect(tree.findSpace(length: 0x2000, alignment: 1, lowest: 0x1000, highest: .max) == 0x9001)
  }

  @Test func clipNeedsNoEndDidChange() {
    var tree = AddressTree<Range>()
    let before = Range(0x0, 0x1000)
    let entry = Range(0x1000, 0x5000)
    let after = Range(0x8000, 0x9000)
    for e in [before, entry, after] { tree.insert(e) }
    entry.end = 0x3000
    let tail = Range(0x3000, 0x5000)
    tree.insert(tail)
    tree._checkInvariants()
    #expect(tree.lookup(0x2FFF) === entry && tree.lookup(0x3000) === tail)
    expectSame(tree.elements, [before, entry, tail, after], "after clip")
    // Unmapping the tail opens the hole the clip made.
    tree.remove(tail)
    #expect(tree.findSpace(length: 0x5000, alignment: 0x1000, lowest: 0, highest: .max) == 0x3000)
    #expect(tree.findSpace(length: 0x5001, alignment: 1, lowest: 0, highest: .max) == 0x9000)
    tree._checkInvariants()
  }

  @Test func copiesAreIndependent() {
    var original = AddressTree<Range>()
    let entries = (0 ..< 100).map { Range(UInt64($0) * 0x2000, UInt64($0) * 0x2000 + 0x1000) }
    for e in entries { original.insert(e) }
    var copy = original
    let extra = Range(0x1000, 0x2000)
    copy.insert(extra)
    copy.remove(entries[50])
    #expect(original.count == 100 && copy.count == 100)
    expectSame(original.elements, entries, "original after copy mutated")
    #expect(original.lookup(0x1000) == nil && copy.lookup(0x1000) === extra)
    #expect(original.lookup(50 * 0x2000) === entries[50] && copy.lookup(50 * 0x2000) == nil)
    #expect(original.findSpace(length: 0x1000, alignment: 1, lowest: 0, highest: .max) == 0x1000)
    #expect(copy.findSpace(length: 0x1000, alignment: 1, lowest: 0, highest: .max) == 0x3000)

    original.remove(entries[0])
    #expect(copy.lookup(0) === entries[0])
    original._checkInvariants()
    copy._checkInvariants()
  }

  @Test func sixtyThousandEntries() {
    let n = 60_000
    // Page-sized entries every other page, inserted in a shuffled order.
    var order = Array(0 ..< n)
    var rng = SplitMix64(state: 60_000)
    for i in stride(from: n - 1, to: 0, by: -1) {
      order.swapAt(i, Int(rng.next(below: UInt64(i + 1))))
    }
    let entries = (0 ..< n).map { Range(UInt64($0) * 0x2000, UInt64($0) * 0x2000 + 0x1000) }
    var tree = AddressTree<Range>()
    for i in order { tree.insert(entries[i]) }
    #expect(tree.count == n)
    tree._checkInvariants()
    for (i, e) in entries.enumerated() where i % 7 == 0 {
      #expect(tree.lookup(e.start + 0x800) === e)
      #expect(tree.lookup(e.end) == nil)
    }
    #expect(tree.findSpace(length: 0x1000, alignment: 0x1000, lowest: 0, highest: .max) == 0x1000)
    #expect(tree.findSpace(length: 0x1001, alignment: 1, lowest: 0, highest: .max)
            == UInt64(n) * 0x2000 - 0x1000)

    // Unmap every entry of the middle third: a 0x3000-byte hole appears
    // wherever two neighbouring entries are gone.
    for i in order where i % 3 == 1 { tree.remove(entries[i]) }
    #expect(tree.count == n - n / 3)
    #expect(tree.findSpace(length: 0x3000, alignment: 1, lowest: 0, highest: .max) == 0x1000)
    #expect(tree.findSpace(length: 0x3000, alignment: 1, lowest: 0x2000, highest: .max) == 0x7000)
    #expect(tree.findSpace(length: 0x3001, alignment: 1, lowest: 0, highest: .max)
            == UInt64(n) * 0x2000 - 0x1000)
    tree._checkInvariants()
  }

  @Test func overlappingInsertTraps() async {
    await #expect(processExitsWith: .failure) {
      var tree = AddressTree<Range>()
      tree.insert(Range(0x1000, 0x3000))
      tree.insert(Range(0x2000, 0x4000))
    }
  }

  @Test func removingAStrangerTraps() async {
    await #expect(processExitsWith: .failure) {
      var tree = AddressTree<Range>()
      tree.insert(Range(0x1000, 0x3000))
      tree.remove(Range(0x1000, 0x3000))
    }
  }
}
