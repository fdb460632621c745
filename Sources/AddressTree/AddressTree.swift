//===----------------------------------------------------------------------===//
//
// AddressTree: the ordered index of a VM map's entries, the counterpart of
// the red-black tree of `vm_map_entry` that NetBSD's uvm_map keeps by start
// address, augmented (like its `maxgap`) so that free space is found in
// logarithmic time, and remembering where it was last changed (like
// `map->hint`) so that work near the same address needs no descent.
//
//===----------------------------------------------------------------------===//

/// An object covering the half-open address interval `start ..< end`.
///
/// Conforming types must keep `end > start` whenever the object is in an
/// `AddressTree`.
public protocol AddressRange: AnyObject {
  /// The first address covered.
  var start: UInt64 { get }
  /// The first address past the range; greater than `start`.
  var end: UInt64 { get }
}

/// An ordered collection of disjoint address ranges, indexed by start
/// address.
///
/// The tree is a B+ tree: the elements sit in address order in *leaves* of
/// up to 32 elements, chained to their neighbours, and *inner nodes* of up to
/// 32 children index the leaves by each child's least start address (its
/// key). Every element's slot also caches the *gap* between its predecessor's
/// end (or zero) and its own start, and every node the largest gap below it;
/// the latter lets `findSpace` skip every subtree that holds no large enough
/// hole, as NetBSD's uvm_map_findspace does with `maxgap`.
///
/// The tree remembers the leaf of its last mutation (the *finger*). NetBSD's
/// uvm_map_lookup_entry tries `map->hint`, the entry last found, before it
/// descends; a VM map's operations come in runs at one address (find space,
/// insert there, later look up, clip and remove there), so every operation
/// first tries the finger's leaf, whose key range it checks in O(1), and
/// only descends from the root when the address lies elsewhere. A query
/// cannot move the finger: the tree is a value, and a query must not write
/// to storage that copies share.
///
/// `AddressTree` is a value type: copies share storage until one of them is
/// mutated, at which point the mutated copy duplicates its nodes in O(*n*).
/// The elements themselves are class instances and stay shared.
///
/// ## Mutating elements in place
///
/// The tree caches each element's start (as the key) and, through the gaps,
/// each element's end. An owner that changes these must keep the caches in
/// step:
///
/// - To change an element's `start`, `remove(_:)` it first and `insert(_:)`
///   it again afterwards.
/// - After changing an element's `end` in place, call `endDidChange(_:)`
///   before the next query or mutation, unless that next mutation rederives
///   the gap above the element itself: inserting an element right after it
///   (as clipping an entry in two does: shrink first, then insert the tail),
///   or removing the element or its successor.
///
/// An owner must never reorder elements or make them overlap.
public struct AddressTree<Element: AddressRange> {
  /// The nodes, shared by copies until one of them is mutated. One reference
  /// rather than the arrays themselves, so that copying a tree (as reading it
  /// out of a class's property for a query does) costs one retain.
  @usableFromInline
  internal var _storage: _Storage

  /// Creates an empty tree.
  ///
  /// - Complexity: O(1)
  @inlinable
  public init() {
    _storage = _Storage()
  }
}

extension AddressTree {
  /// The storage of a tree. It is only written while the tree that holds it
  /// holds the only reference (`_makeUnique()`), which makes it safe to share
  /// between copies and threads, as an array's buffer is.
  @usableFromInline
  internal final class _Storage: @unchecked Sendable {
    /// The start addresses of the elements, by slot. Leaf `l` owns the slots
    /// `l * _leafCapacity ..< (l + 1) * _leafCapacity`, of which the first
    /// `leaves[l].count` are in use; the three slot arrays share this layout.
    @usableFromInline
    internal var keys: ContiguousArray<UInt64> = []

    /// By slot, the element's start minus the end of the element before it
    /// (or minus zero for the first element): the free hole right below it.
    @usableFromInline
    internal var gaps: ContiguousArray<UInt64> = []

    /// By slot, the elements; the slots a leaf does not use hold `nil`.
    @usableFromInline
    internal var elements: ContiguousArray<Element?> = []

    /// The leaves' headers.
    @usableFromInline
    internal var leaves: ContiguousArray<_LeafHeader> = []

    /// By child slot, the least key in the child's subtree. Inner node `p`
    /// owns the child slots `p * _innerCapacity ..< (p + 1) * _innerCapacity`,
    /// of which the first `inners[p].count` are in use; `children` shares
    /// this layout.
    @usableFromInline
    internal var childKeys: ContiguousArray<UInt64> = []

    /// By child slot, the child: a leaf for a node of level 1, else an inner
    /// node.
    @usableFromInline
    internal var children: ContiguousArray<Int32> = []

    /// The inner nodes' headers.
    @usableFromInline
    internal var inners: ContiguousArray<_InnerHeader> = []

    /// The root: a leaf if `height` is 0, else an inner node; `_none` if the
    /// tree is empty.
    @usableFromInline
    internal var root: Int32 = _none

    /// The number of inner levels, that is, the root's level.
    @usableFromInline
    internal var height = 0

    /// The number of elements.
    @usableFromInline
    internal var count = 0

    /// The leaf of the last mutation, tried before a descent; `_none` if the
    /// tree is empty.
    @usableFromInline
    internal var finger: Int32 = _none

    @inlinable
    internal init() {}

    /// A copy sharing the arrays' buffers, which the first write to each
    /// duplicates.
    @inlinable
    internal init(copying other: _Storage) {
      keys = other.keys
      gaps = other.gaps
      elements = other.elements
      leaves = other.leaves
      childKeys = other.childKeys
      children = other.children
      inners = other.inners
      root = other.root
      height = other.height
      count = other.count
      finger = other.finger
    }
  }

  /// Gives the tree storage of its own before a mutation.
  ///
  /// - Complexity: O(1), plus O(*n*) spread over the first writes if the
  ///   storage is shared with a copy.
  @inlinable
  internal mutating func _makeUnique() {
    if !isKnownUniquelyReferenced(&_storage) { _storage = _Storage(copying: _storage) }
  }

  // The storage's fields, read in place and written only after
  // `_makeUnique()`.

  @inlinable
  internal var _keys: ContiguousArray<UInt64> {
    _read { yield _storage.keys }
    nonmutating _modify { yield &_storage.keys }
  }

  @inlinable
  internal var _gaps: ContiguousArray<UInt64> {
    _read { yield _storage.gaps }
    nonmutating _modify { yield &_storage.gaps }
  }

  @inlinable
  internal var _elements: ContiguousArray<Element?> {
    _read { yield _storage.elements }
    nonmutating _modify { yield &_storage.elements }
  }

  @inlinable
  internal var _leaves: ContiguousArray<_LeafHeader> {
    _read { yield _storage.leaves }
    nonmutating _modify { yield &_storage.leaves }
  }

  @inlinable
  internal var _childKeys: ContiguousArray<UInt64> {
    _read { yield _storage.childKeys }
    nonmutating _modify { yield &_storage.childKeys }
  }

  @inlinable
  internal var _children: ContiguousArray<Int32> {
    _read { yield _storage.children }
    nonmutating _modify { yield &_storage.children }
  }

  @inlinable
  internal var _inners: ContiguousArray<_InnerHeader> {
    _read { yield _storage.inners }
    nonmutating _modify { yield &_storage.inners }
  }

  @inlinable
  internal var _root: Int32 {
    _read { yield _storage.root }
    nonmutating _modify { yield &_storage.root }
  }

  @inlinable
  internal var _height: Int {
    _read { yield _storage.height }
    nonmutating _modify { yield &_storage.height }
  }

  @inlinable
  internal var _count: Int {
    _read { yield _storage.count }
    nonmutating _modify { yield &_storage.count }
  }

  @inlinable
  internal var _finger: Int32 {
    _read { yield _storage.finger }
    nonmutating _modify { yield &_storage.finger }
  }
}

/// The index standing for "no node".
@usableFromInline
internal let _none: Int32 = -1

/// A leaf's bookkeeping; its elements are in the tree's slot arrays.
@usableFromInline
internal struct _LeafHeader: Sendable {
  /// The number of slots in use: at least half the capacity unless the leaf
  /// is the root, and never zero.
  @usableFromInline
  internal var count: Int32

  /// The inner node of level 1 above the leaf, or `_none` for the root.
  @usableFromInline
  internal var parent: Int32

  /// The leaf holding the elements just below this leaf's, or `_none`.
  @usableFromInline
  internal var previous: Int32

  /// The leaf holding the elements just above this leaf's, or `_none`.
  @usableFromInline
  internal var next: Int32

  /// The largest gap in the leaf's slots.
  @usableFromInline
  internal var maxGap: UInt64

  @inlinable
  internal init(parent: Int32) {
    self.count = 0
    self.parent = parent
    self.previous = _none
    self.next = _none
    self.maxGap = 0
  }
}

/// An inner node's bookkeeping; its children are in the tree's child-slot
/// arrays.
@usableFromInline
internal struct _InnerHeader: Sendable {
  /// The number of children: at least half the capacity unless the node is
  /// the root, and at least two.
  @usableFromInline
  internal var count: Int32

  /// The node's level: 1 if its children are leaves, else one more than
  /// theirs.
  @usableFromInline
  internal var level: Int32

  /// The inner node above, or `_none` for the root.
  @usableFromInline
  internal var parent: Int32

  /// The largest gap in the node's subtree.
  @usableFromInline
  internal var maxGap: UInt64

  @inlinable
  internal init(level: Int32, parent: Int32) {
    self.count = 0
    self.level = level
    self.parent = parent
    self.maxGap = 0
  }
}

/// A slot in use: the leaf that owns it and its index in the slot arrays.
@usableFromInline
internal struct _Position {
  @usableFromInline internal let leaf: Int32
  @usableFromInline internal let slot: Int

  @inlinable
  internal init(leaf: Int32, slot: Int) {
    self.leaf = leaf
    self.slot = slot
  }
}

extension AddressTree {
  /// The number of slots of a leaf. A leaf is wide enough that a 60,000-entry
  /// map is three levels deep, and narrow enough that shifting its slots on
  /// an insertion or removal stays cheap.
  @inlinable @inline(__always)
  internal static var _leafCapacity: Int { 32 }

  /// The number of child slots of an inner node.
  @inlinable @inline(__always)
  internal static var _innerCapacity: Int { 32 }
}

// MARK: - Queries

extension AddressTree {
  /// The number of elements in the tree.
  ///
  /// - Complexity: O(1)
  @inlinable
  public var count: Int { _count }

  /// A Boolean value indicating whether the tree has no elements.
  ///
  /// - Complexity: O(1)
  @inlinable
  public var isEmpty: Bool { _count == 0 }

  /// The element with the smallest start address, or `nil` if the tree is
  /// empty.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public var first: Element? {
    if _root == _none { return nil }
    return _elements[Int(_edgeLeaf(last: false)) * Self._leafCapacity]
  }

  /// The element with the largest start address, or `nil` if the tree is
  /// empty.
  ///
  /// - Complexity: O(log *n*)
  @inlinable
  public var last: Element? {
    if _root == _none { return nil }
    let l = _edgeLeaf(last: true)
    return _elements[Int(l) * Self._leafCapacity + Int(_leaves[Int(l)].count) - 1]
  }

  /// Returns the element whose range contains `address`, or `nil` if
  /// `address` is not covered by any element.
  ///
  /// - Complexity: O(1) in the leaf of the last mutation, else O(log *n*)
  @inlinable
  public func lookup(_ address: UInt64) -> Element? {
    guard let e = floor(address), e.end > address else { return nil }
    return e
  }

  /// Returns the element with the greatest start address less than or equal
  /// to `address`, or `nil` if there is none.
  ///
  /// - Complexity: O(1) in the leaf of the last mutation, else O(log *n*)
  @inlinable
  public func floor(_ address: UInt64) -> Element? {
    if _root == _none { return nil }
    let l = _leaf(for: address)
    return _element(at: _position(before: _upperBound(address, inLeaf: l), in: l))
  }

  /// Returns the element with the least start address greater than or equal
  /// to `address`, or `nil` if there is none.
  ///
  /// - Complexity: O(1) in the leaf of the last mutation, else O(log *n*)
  @inlinable
  public func ceiling(_ address: UInt64) -> Element? {
    if _root == _none { return nil }
    let l = _leaf(for: address)
    return _element(at: _position(atOrAfter: _lowerBound(address, inLeaf: l), in: l))
  }

  /// Returns the element with the least start address greater than
  /// `e.start`, or `nil` if there is none. `e` need not be in the tree.
  ///
  /// - Complexity: O(1) in the leaf of the last mutation, else O(log *n*)
  @inlinable
  public func next(after e: Element) -> Element? {
    if _root == _none { return nil }
    let start = e.start
    let l = _leaf(for: start)
    return _element(at: _position(atOrAfter: _upperBound(start, inLeaf: l), in: l))
  }

  /// Returns the element with the greatest start address less than
  /// `e.start`, or `nil` if there is none. `e` need not be in the tree.
  ///
  /// - Complexity: O(1) in the leaf of the last mutation, else O(log *n*)
  @inlinable
  public func previous(before e: Element) -> Element? {
    if _root == _none { return nil }
    let start = e.start
    let l = _leaf(for: start)
    return _element(at: _position(before: _lowerBound(start, inLeaf: l), in: l))
  }

  /// Returns, in address order, the elements that intersect `lo ..< hi`
  /// (`e.start < hi` and `e.end > lo`); an empty range (`lo >= hi`)
  /// intersects none, even inside an element.
  ///
  /// - Complexity: O(*k*) starting in the leaf of the last mutation, else
  ///   O(log *n* + *k*), where *k* is the number of elements returned.
  @inlinable
  public func elements(overlapping lo: UInt64, _ hi: UInt64) -> [Element] {
    var result: [Element] = []
    // An empty range overlaps nothing, even inside an element.
    guard lo < hi, _root != _none else { return result }
    // Elements are disjoint and sorted, so their ends are sorted too: only
    // the last element starting at or below `lo` can end above `lo` without
    // starting above it.
    let l = _leaf(for: lo)
    let from = _position(before: _upperBound(lo, inLeaf: l), in: l)
      ?? _Position(leaf: l, slot: Int(l) * Self._leafCapacity)
    _forEach(from: from) { e in
      guard e.start < hi else { return false }
      if e.end > lo { result.append(e) }
      return true
    }
    return result
  }

  /// Calls `body` on every element in address order.
  ///
  /// `body` must not mutate the tree.
  ///
  /// - Complexity: O(*n*)
  @inlinable
  public func forEach(_ body: (Element) throws -> Void) rethrows {
    if _root == _none { return }
    let l = _edgeLeaf(last: false)
    try _forEach(from: _Position(leaf: l, slot: Int(l) * Self._leafCapacity)) { e in
      try body(e)
      return true
    }
  }

  /// All elements in address order.
  ///
  /// - Complexity: O(*n*)
  @inlinable
  public var elements: [Element] {
    var result: [Element] = []
    result.reserveCapacity(count)
    forEach { result.append($0) }
    return result
  }

  /// Returns the lowest address `a` such that `a >= lowest`, `a` is a
  /// multiple of `alignment`, `a + length <= highest`, and no element
  /// intersects `a ..< a + length` (first fit), or `nil` if there is no such
  /// address.
  ///
  /// - Parameters:
  ///   - length: The size of the wanted space; must be positive.
  ///   - alignment: The required alignment of the result; must be positive.
  ///     It need not be a power of two.
  ///   - lowest: The least acceptable address.
  ///   - highest: The exclusive upper bound of the wanted space.
  ///
  /// - Complexity: O(log *n*) when `alignment` is 1, and O(1) when the
  ///   result lies in the leaf of the last mutation along with `lowest`. In
  ///   general O((1 + *m*) log *n*), where *m* is the number of free holes
  ///   of at least `length` bytes lying before the result in which no aligned
  ///   address fits; a hole of at least `length + alignment - 1` bytes always
  ///   fits, so *m* counts only holes smaller than that.
  @inlinable
  public func findSpace(
    length: UInt64, alignment: UInt64, lowest: UInt64, highest: UInt64
  ) -> UInt64? {
    precondition(length > 0, "findSpace needs a positive length")
    precondition(alignment > 0, "findSpace needs a positive alignment")
    guard highest >= length, lowest <= highest - length else { return nil }
    var request = _SpaceRequest(
      length: length, alignment: alignment,
      lowest: lowest, lastStart: highest - length)
    if _root != _none && _maxGap(of: _root, level: _height) >= length {
      if let a = _findSpace(from: _leaf(for: lowest), &request) { return a }
      if request.exhausted { return nil }
    }
    // The hole above the last element is unbounded but for `highest`.
    return request.fit(holeStart: last?.end ?? 0, holeEnd: .max)
  }
}

// MARK: - Mutations

extension AddressTree {
  /// Inserts `e`.
  ///
  /// - Precondition: `e.end > e.start`, and `e` does not intersect any
  ///   element of the tree.
  /// - Complexity: O(log *n*); O(1) in the leaf of the last mutation unless
  ///   a leaf's least key or a largest gap changes (both are carried up to
  ///   the root); plus O(*n*) if the storage is shared with a copy.
  @inlinable
  public mutating func insert(_ e: Element) {
    let start = e.start
    let end = e.end
    precondition(end > start, "AddressTree element must have end > start")
    precondition(_leaves.count < Int32.max / 2, "AddressTree is full")
    _makeUnique()
    if _root == _none {
      _root = _newLeaf(parent: _none)
      _height = 0
      _insert(e, key: start, gap: start, into: _root, at: 0)
      return
    }
    let l = _leaf(for: start)
    let i = _lowerBound(start, inLeaf: l)
    let predEnd = _element(at: _position(before: i, in: l))?.end ?? 0
    let succ = _position(atOrAfter: i, in: l)
    let succStart = succ.map { _keys[$0.slot] }
    precondition(
      predEnd <= start && (succStart.map { end <= $0 } ?? true),
      "AddressTree element overlaps an existing element")
    if let succ, let succStart {
      _setGap(at: succ, to: succStart - end)
    }
    _insert(e, key: start, gap: start - predEnd, into: l, at: i)
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }

  /// Removes `e`, which must be in the tree.
  ///
  /// The element is found by its start address, so `e.start` must not have
  /// changed since `e` was inserted.
  ///
  /// - Complexity: O(log *n*); O(1) in the leaf of the last mutation unless
  ///   a leaf's least key or a largest gap changes (both are carried up to
  ///   the root); plus O(*n*) if the storage is shared with a copy.
  @inlinable
  public mutating func remove(_ e: Element) {
    let start = e.start
    let at = _position(of: e, at: start)
    precondition(at != nil, "AddressTree.remove: element is not in the tree")
    _makeUnique()
    let l = at.unsafelyUnwrapped.leaf
    let i = at.unsafelyUnwrapped.slot - Int(l) * Self._leafCapacity
    if let succ = _position(atOrAfter: i + 1, in: l) {
      let predEnd = _element(at: _position(before: i, in: l))?.end ?? 0
      _setGap(at: succ, to: _keys[succ.slot] - predEnd)
    }
    _remove(at: i, from: l)
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }

  /// Updates the cached free space after `e.end` changed in place.
  ///
  /// Call this after growing or shrinking an element without changing its
  /// start, unless the next mutation inserts an element right after it or
  /// removes it or its successor (see the type's documentation).
  ///
  /// - Precondition: `e` is in the tree, `e.end > e.start`, and `e` does not
  ///   intersect its successor.
  /// - Complexity: O(log *n*); O(1) in the leaf of the last mutation unless
  ///   a leaf's least key or a largest gap changes (both are carried up to
  ///   the root); plus O(*n*) if the storage is shared with a copy.
  @inlinable
  public mutating func endDidChange(_ e: Element) {
    let start = e.start
    let end = e.end
    let at = _position(of: e, at: start)
    precondition(at != nil, "AddressTree.endDidChange: element is not in the tree")
    precondition(end > start, "AddressTree element must have end > start")
    _makeUnique()
    let l = at.unsafelyUnwrapped.leaf
    if let succ = _position(atOrAfter: at.unsafelyUnwrapped.slot + 1 - Int(l) * Self._leafCapacity, in: l) {
      let succStart = _keys[succ.slot]
      precondition(end <= succStart, "AddressTree element overlaps its successor")
      _setGap(at: succ, to: succStart - end)
    }
    _finger = l
    #if DEBUG
    _checkAfterMutation(at: start)
    #endif
  }
}

extension AddressTree: Sendable where Element: Sendable {}
extension _Position: Sendable {}

// MARK: - Searching

extension AddressTree {
  /// The leaf whose key range holds `key`: the leaf's own least key (zero
  /// for the first leaf) up to the next leaf's least key. The finger's leaf
  /// is tried first, in O(1); otherwise one descent, O(log *n*).
  ///
  /// The tree must not be empty.
  @inlinable
  internal func _leaf(for key: UInt64) -> Int32 {
    let f = _finger
    let header = _leaves[Int(f)]
    if (header.previous == _none || _keys[Int(f) * Self._leafCapacity] <= key)
      && (header.next == _none || key < _keys[Int(header.next) * Self._leafCapacity])
    {
      return f
    }
    return _descend(to: key)
  }

  /// The leaf whose key range holds `key`, found from the root.
  @inlinable
  internal func _descend(to key: UInt64) -> Int32 {
    _childKeys.withUnsafeBufferPointer { keys in
      _children.withUnsafeBufferPointer { children in
        _inners.withUnsafeBufferPointer { inners in
          var node = _root
          var level = _height
          while level > 0 {
            let base = Int(node) * Self._innerCapacity
            // The last child whose least key is at most `key`; the first if
            // there is none (only on the way to the first leaf).
            let i = _countAtMost(key, in: keys, base, Int(inners[Int(node)].count))
            node = children[base + max(i, 1) - 1]
            level -= 1
          }
          return node
        }
      }
    }
  }

  /// The first or the last leaf.
  @inlinable
  internal func _edgeLeaf(last: Bool) -> Int32 {
    var node = _root
    for _ in 0 ..< _height {
      let base = Int(node) * Self._innerCapacity
      node = _children[last ? base + Int(_inners[Int(node)].count) - 1 : base]
    }
    return node
  }

  /// The number of keys at most `key` in leaf `l`: the index in the leaf of
  /// the first key above `key`.
  @inlinable
  internal func _upperBound(_ key: UInt64, inLeaf l: Int32) -> Int {
    _keys.withUnsafeBufferPointer {
      _countAtMost(key, in: $0, Int(l) * Self._leafCapacity, Int(_leaves[Int(l)].count))
    }
  }

  /// The number of keys below `key` in leaf `l`: the index in the leaf of
  /// the first key at least `key`.
  @inlinable
  internal func _lowerBound(_ key: UInt64, inLeaf l: Int32) -> Int {
    _keys.withUnsafeBufferPointer {
      _countBelow(key, in: $0, Int(l) * Self._leafCapacity, Int(_leaves[Int(l)].count))
    }
  }

  /// The position of the slot before index `i` of leaf `l` (`0 <= i <=
  /// count`), in the previous leaf if `i` is 0, or `nil` if there is none.
  @inlinable
  internal func _position(before i: Int, in l: Int32) -> _Position? {
    if i > 0 { return _Position(leaf: l, slot: Int(l) * Self._leafCapacity + i - 1) }
    let p = _leaves[Int(l)].previous
    if p == _none { return nil }
    return _Position(leaf: p, slot: Int(p) * Self._leafCapacity + Int(_leaves[Int(p)].count) - 1)
  }

  /// The position of index `i` of leaf `l` (`0 <= i <= count`), or of the
  /// next leaf's first slot if `i` is the count, or `nil` if there is none.
  @inlinable
  internal func _position(atOrAfter i: Int, in l: Int32) -> _Position? {
    if i < Int(_leaves[Int(l)].count) { return _Position(leaf: l, slot: Int(l) * Self._leafCapacity + i) }
    let n = _leaves[Int(l)].next
    return n == _none ? nil : _Position(leaf: n, slot: Int(n) * Self._leafCapacity)
  }

  /// The position of `e`, whose start is `start`, or `nil` if `e` is not in
  /// the tree.
  @inlinable
  internal func _position(of e: Element, at start: UInt64) -> _Position? {
    if _root == _none { return nil }
    let l = _leaf(for: start)
    let i = _lowerBound(start, inLeaf: l)
    let slot = Int(l) * Self._leafCapacity + i
    guard i < Int(_leaves[Int(l)].count), _elements[slot] === e else { return nil }
    return _Position(leaf: l, slot: slot)
  }

  @inlinable
  internal func _element(at position: _Position?) -> Element? {
    position.flatMap { _elements[$0.slot] }
  }

  /// The largest gap under `node`, a leaf if `level` is 0, else an inner
  /// node.
  @inlinable @inline(__always)
  internal func _maxGap(of node: Int32, level: Int) -> UInt64 {
    level == 0 ? _leaves[Int(node)].maxGap : _inners[Int(node)].maxGap
  }

  /// Calls `body` on the elements from position `from` on, in address
  /// order, until it returns `false`.
  ///
  /// - Complexity: O(*k*), where *k* is the number of calls.
  @inlinable
  internal func _forEach(
    from: _Position, _ body: (Element) throws -> Bool
  ) rethrows {
    var l = from.leaf
    var slot = from.slot
    while true {
      let end = Int(l) * Self._leafCapacity + Int(_leaves[Int(l)].count)
      while slot < end {
        guard try body(_elements[slot].unsafelyUnwrapped) else { return }
        slot += 1
      }
      l = _leaves[Int(l)].next
      if l == _none { return }
      slot = Int(l) * Self._leafCapacity
    }
  }

  /// Returns the first fit for `request` among the holes from leaf `l` on,
  /// where `l` is the leaf whose key range holds `request.lowest`; sets
  /// `request.exhausted` once a hole shows that no later hole can fit.
  ///
  /// The holes of earlier leaves end at or below `l`'s least key, so none
  /// can hold the space. The search scans `l`, then climbs: at each
  /// ancestor it tries the later children in order, descending into the
  /// first whose largest gap is large enough. NetBSD's uvm_map_findspace
  /// likewise starts from the entry at its hint rather than from the root,
  /// and here that leaf is usually the finger's, so a hole next to the last
  /// change is found without a descent.
  @inlinable
  internal func _findSpace(from l: Int32, _ request: inout _SpaceRequest) -> UInt64? {
    if _leaves[Int(l)].maxGap >= request.length {
      if let a = _findSpace(in: l, level: 0, &request) { return a }
      if request.exhausted { return nil }
    }
    var node = l
    var p = _leaves[Int(l)].parent
    var level = 0
    while p != _none {
      let end = Int(p) * Self._innerCapacity + Int(_inners[Int(p)].count)
      var slot = _childSlot(of: node, in: p) + 1
      while slot < end {
        let child = _children[slot]
        if _maxGap(of: child, level: level) >= request.length {
          if let a = _findSpace(in: child, level: level, &request) { return a }
          if request.exhausted { return nil }
        }
        slot += 1
      }
      node = p
      p = _inners[Int(p)].parent
      level += 1
    }
    return nil
  }

  /// Returns the first fit for `request` among the holes below the elements
  /// under `node` (of `level`), whose largest gap is at least
  /// `request.length`, in address order; sets `request.exhausted` once a
  /// hole shows that no later hole can fit.
  @inlinable
  internal func _findSpace(in node: Int32, level: Int, _ request: inout _SpaceRequest) -> UInt64? {
    if level == 0 {
      let base = Int(node) * Self._leafCapacity
      let end = base + Int(_leaves[Int(node)].count)
      // A hole below a key `<= lowest` ends at or below `lowest`.
      var slot = base + _upperBound(request.lowest, inLeaf: node)
      while slot < end {
        let gap = _gaps[slot]
        if gap >= request.length {
          let key = _keys[slot]
          if let a = request.fit(holeStart: key - gap, holeEnd: key) { return a }
          if request.exhausted { return nil }
        }
        slot += 1
      }
      return nil
    }
    let base = Int(node) * Self._innerCapacity
    let end = base + Int(_inners[Int(node)].count)
    // The children before the last one whose least key is at most `lowest`
    // hold only holes that end at or below `lowest`.
    var slot = base + max(
      _childKeys.withUnsafeBufferPointer { _countAtMost(request.lowest, in: $0, base, end - base) }, 1) - 1
    while slot < end {
      let child = _children[slot]
      if _maxGap(of: child, level: level - 1) >= request.length {
        if let a = _findSpace(in: child, level: level - 1, &request) { return a }
        if request.exhausted { return nil }
      }
      slot += 1
    }
    return nil
  }
}

/// The number of keys at most `key` among the `count` sorted keys from
/// `base` in `keys`: the offset of the first key above `key`.
@inlinable
internal func _countAtMost(
  _ key: UInt64, in keys: UnsafeBufferPointer<UInt64>, _ base: Int, _ count: Int
) -> Int {
  var lo = base
  var n = count
  while n > 0 {
    let half = n >> 1
    if keys[lo + half] <= key {
      lo += half + 1
      n -= half + 1
    } else {
      n = half
    }
  }
  return lo - base
}

/// The number of keys below `key` among the `count` sorted keys from `base`
/// in `keys`: the offset of the first key at least `key`.
@inlinable
internal func _countBelow(
  _ key: UInt64, in keys: UnsafeBufferPointer<UInt64>, _ base: Int, _ count: Int
) -> Int {
  var lo = base
  var n = count
  while n > 0 {
    let half = n >> 1
    if keys[lo + half] < key {
      lo += half + 1
      n -= half + 1
    } else {
      n = half
    }
  }
  return lo - base
}

/// The parameters of a `findSpace` search and whether it is over.
@usableFromInline
internal struct _SpaceRequest {
  @usableFromInline internal let length: UInt64
  @usableFromInline internal let alignment: UInt64
  @usableFromInline internal let lowest: UInt64
  /// The highest acceptable result: `highest - length`.
  @usableFromInline internal let lastStart: UInt64
  /// Set when a hole's first candidate address exceeds `lastStart`: the
  /// candidates of later holes are no lower, so none of them fits either.
  @usableFromInline internal var exhausted = false

  @inlinable
  internal init(length: UInt64, alignment: UInt64, lowest: UInt64, lastStart: UInt64) {
    self.length = length
    self.alignment = alignment
    self.lowest = lowest
    self.lastStart = lastStart
  }

  /// Returns the lowest acceptable address `a` with `a ..< a + length`
  /// inside the hole `holeStart ..< holeEnd`, or `nil`.
  @inlinable
  internal mutating func fit(holeStart: UInt64, holeEnd: UInt64) -> UInt64? {
    let from = max(holeStart, lowest)
    let misalignment = from % alignment
    let (a, overflow) = misalignment == 0
      ? (from, false) : from.addingReportingOverflow(alignment - misalignment)
    guard !overflow, a <= lastStart else {
      exhausted = true
      return nil
    }
    // `a + length <= highest`, so the sum cannot overflow.
    return a + length <= holeEnd ? a : nil
  }
}

// MARK: - Leaf changes

extension AddressTree {
  /// Appends a leaf with no elements under `parent`; returns it.
  @inlinable
  internal mutating func _newLeaf(parent: Int32) -> Int32 {
    let l = Int32(_leaves.count)
    _keys.append(contentsOf: repeatElement(0, count: Self._leafCapacity))
    _gaps.append(contentsOf: repeatElement(0, count: Self._leafCapacity))
    _elements.append(contentsOf: repeatElement(nil, count: Self._leafCapacity))
    _leaves.append(_LeafHeader(parent: parent))
    return l
  }

  /// Moves `count` slots from `source` to `target`, which may overlap;
  /// the target slots outside the source must hold `nil`, and the source
  /// slots outside the target are left holding `nil`. The elements are
  /// moved, not copied, so no reference count changes.
  @inlinable
  internal mutating func _moveSlots(from source: Int, to target: Int, count: Int) {
    if count == 0 || source == target { return }
    _keys.withUnsafeMutableBufferPointer {
      ($0.baseAddress! + target).update(from: $0.baseAddress! + source, count: count)
    }
    _gaps.withUnsafeMutableBufferPointer {
      ($0.baseAddress! + target).update(from: $0.baseAddress! + source, count: count)
    }
    _elements.withUnsafeMutableBufferPointer {
      let base = $0.baseAddress!
      // The target slots outside the source hold nil, which owns nothing:
      // end them one by one (a bulk `deinitialize` of a non-trivial type is
      // a call into the runtime, and a move displaces one slot or a few),
      // move the source in (a memmove, overlap allowed), and put nil in the
      // source slots it vacated.
      let displaced: Range<Int>
      let vacated: Range<Int>
      if target < source {
        displaced = target ..< min(target + count, source)
        vacated = max(source, target + count) ..< source + count
      } else {
        displaced = max(target, source + count) ..< target + count
        vacated = source ..< min(target, source + count)
      }
      for slot in displaced { _ = (base + slot).move() }
      (base + target).moveInitialize(from: base + source, count: count)
      (base + vacated.lowerBound).initialize(repeating: nil, count: vacated.count)
    }
  }

  /// The largest gap in leaf `l`'s slots, computed.
  @inlinable
  internal func _computedMaxGap(ofLeaf l: Int32) -> UInt64 {
    let base = Int(l) * Self._leafCapacity
    return _gaps[base ..< base + Int(_leaves[Int(l)].count)].max() ?? 0
  }

  /// The largest gap under inner node `p`, computed from its children.
  @inlinable
  internal func _computedMaxGap(ofInner p: Int32) -> UInt64 {
    let base = Int(p) * Self._innerCapacity
    let level = Int(_inners[Int(p)].level)
    var m: UInt64 = 0
    for slot in base ..< base + Int(_inners[Int(p)].count) {
      m = max(m, _maxGap(of: _children[slot], level: level - 1))
    }
    return m
  }

  /// Sets the gap at `position` and updates the largest gaps above it.
  ///
  /// - Complexity: O(1) unless the leaf's largest gap changes, then up to
  ///   O(log *n*).
  @inlinable
  internal mutating func _setGap(at position: _Position, to gap: UInt64) {
    let old = _gaps[position.slot]
    _gaps[position.slot] = gap
    let l = position.leaf
    let m = _leaves[Int(l)].maxGap
    // The leaf's maximum was `m >= old`; only if `old` was it and the gap
    // shrank must the leaf be scanned.
    let updated = gap >= m ? gap : old < m ? m : _computedMaxGap(ofLeaf: l)
    if updated != m {
      _leaves[Int(l)].maxGap = updated
      _maxGapChanged(below: _leaves[Int(l)].parent, from: m, to: updated)
    }
  }

  /// Updates the largest gaps from inner node `p` up, after the largest gap
  /// of one of `p`'s children changed from `old` to `new`; stops at the
  /// first node whose largest gap stays.
  @inlinable
  internal mutating func _maxGapChanged(below p: Int32, from old: UInt64, to new: UInt64) {
    var p = p
    var old = old
    var new = new
    while p != _none {
      let m = _inners[Int(p)].maxGap
      let updated = new >= m ? new : old < m ? m : _computedMaxGap(ofInner: p)
      if updated == m { return }
      _inners[Int(p)].maxGap = updated
      old = m
      new = updated
      p = _inners[Int(p)].parent
    }
  }

  /// Inserts `e`, with its key and gap, at index `i` of leaf `l`, splitting
  /// the leaf if it is full; the gaps around it must already be right.
  @inlinable
  internal mutating func _insert(_ e: Element, key: UInt64, gap: UInt64, into l: Int32, at i: Int) {
    var l = l
    var i = i
    if Int(_leaves[Int(l)].count) == Self._leafCapacity {
      let r = _splitLeaf(l)
      let half = Int(_leaves[Int(l)].count)
      // An element after the left half goes to the right leaf, never to its
      // slot 0, so the right leaf's least key stays the one its parent has.
      if i > half {
        l = r
        i -= half
      }
    }
    let base = Int(l) * Self._leafCapacity
    let n = Int(_leaves[Int(l)].count)
    _moveSlots(from: base + i, to: base + i + 1, count: n - i)
    _keys[base + i] = key
    _gaps[base + i] = gap
    _elements[base + i] = e
    _leaves[Int(l)].count += 1
    _count += 1
    _finger = l
    let m = _leaves[Int(l)].maxGap
    if gap > m {
      _leaves[Int(l)].maxGap = gap
      _maxGapChanged(below: _leaves[Int(l)].parent, from: m, to: gap)
    }
    // Only the first leaf receives keys below its least key (a descent
    // takes the first child only on the way to the first leaf).
    if i == 0 { _leastKeyChanged(ofLeaf: l) }
  }

  /// Moves the upper half of the full leaf `l` into a new leaf after it,
  /// linked into the leaf chain and into `l`'s parent; returns the new leaf.
  @inlinable
  internal mutating func _splitLeaf(_ l: Int32) -> Int32 {
    let r = _newLeaf(parent: _leaves[Int(l)].parent)
    let half = Self._leafCapacity / 2
    _moveSlots(
      from: Int(l) * Self._leafCapacity + half, to: Int(r) * Self._leafCapacity,
      count: Self._leafCapacity - half)
    _leaves[Int(l)].count = Int32(half)
    _leaves[Int(r)].count = Int32(Self._leafCapacity - half)
    let next = _leaves[Int(l)].next
    _leaves[Int(r)].previous = l
    _leaves[Int(r)].next = next
    _leaves[Int(l)].next = r
    if next != _none { _leaves[Int(next)].previous = r }
    // Both halves' gaps were under `l`, so no node above changes its
    // largest gap.
    _leaves[Int(l)].maxGap = _computedMaxGap(ofLeaf: l)
    _leaves[Int(r)].maxGap = _computedMaxGap(ofLeaf: r)
    _insertChild(r, after: l, level: 0)
    return r
  }

  /// Removes the element at index `i` of leaf `l` and rebalances; the gap
  /// of its successor must already be right.
  @inlinable
  internal mutating func _remove(at i: Int, from l: Int32) {
    let base = Int(l) * Self._leafCapacity
    let n = Int(_leaves[Int(l)].count)
    let gap = _gaps[base + i]
    _elements[base + i] = nil
    _moveSlots(from: base + i + 1, to: base + i, count: n - i - 1)
    _leaves[Int(l)].count -= 1
    _count -= 1
    _finger = l
    if n == 1 {
      // Only the root leaf can hold a single element: the tree is now empty.
      self = AddressTree()
      return
    }
    let m = _leaves[Int(l)].maxGap
    if gap == m {
      let updated = _computedMaxGap(ofLeaf: l)
      if updated != m {
        _leaves[Int(l)].maxGap = updated
        _maxGapChanged(below: _leaves[Int(l)].parent, from: m, to: updated)
      }
    }
    if i == 0 { _leastKeyChanged(ofLeaf: l) }
    if _leaves[Int(l)].parent != _none && n - 1 < Self._leafCapacity / 2 {
      _rebalanceLeaf(l)
    }
  }

  /// Copies leaf `l`'s least key into its ancestors' child keys, up to the
  /// first ancestor of which `l` is not in the leftmost subtree.
  @inlinable
  internal mutating func _leastKeyChanged(ofLeaf l: Int32) {
    let key = _keys[Int(l) * Self._leafCapacity]
    var node = l
    var p = _leaves[Int(l)].parent
    while p != _none {
      let slot = _childSlot(of: node, in: p)
      _childKeys[slot] = key
      if slot != Int(p) * Self._innerCapacity { return }
      node = p
      p = _inners[Int(p)].parent
    }
  }

  /// Refills the leaf `l`, which has fallen below half full, from a
  /// sibling: merges the two if they fit in one leaf with a slot to spare
  /// (so that the next insertion does not split them again), else evens
  /// their counts.
  @inlinable
  internal mutating func _rebalanceLeaf(_ l: Int32) {
    let p = _leaves[Int(l)].parent
    let slot = _childSlot(of: l, in: p)
    let first = slot == Int(p) * Self._innerCapacity
    // The pair of adjacent siblings, `a` before `b`, and `b`'s child slot.
    let a = first ? l : _children[slot - 1]
    let b = first ? _children[slot + 1] : l
    let bSlot = first ? slot + 1 : slot
    let na = Int(_leaves[Int(a)].count)
    let nb = Int(_leaves[Int(b)].count)
    let aBase = Int(a) * Self._leafCapacity
    let bBase = Int(b) * Self._leafCapacity
    if na + nb < Self._leafCapacity {
      _moveSlots(from: bBase, to: aBase + na, count: nb)
      _leaves[Int(a)].count = Int32(na + nb)
      _leaves[Int(b)].count = 0
      let next = _leaves[Int(b)].next
      _leaves[Int(a)].next = next
      if next != _none { _leaves[Int(next)].previous = a }
      _leaves[Int(a)].maxGap = max(_leaves[Int(a)].maxGap, _leaves[Int(b)].maxGap)
      _finger = a
      _removeChild(at: bSlot, from: p)
      // Deleting a leaf moves another leaf, never an inner node, so `p`
      // still names the parent.
      _freeLeaf(b)
      _rebalanceInnerIfNeeded(p)
      return
    }
    let target = (na + nb) / 2
    if na < target {
      // Move the first `target - na` of `b` to the end of `a`.
      let k = target - na
      _moveSlots(from: bBase, to: aBase + na, count: k)
      _moveSlots(from: bBase + k, to: bBase, count: nb - k)
    } else {
      // Move the last `na - target` of `a` to the front of `b`.
      let k = na - target
      _moveSlots(from: bBase, to: bBase + k, count: nb)
      _moveSlots(from: aBase + target, to: bBase, count: k)
    }
    _leaves[Int(a)].count = Int32(target)
    _leaves[Int(b)].count = Int32(na + nb - target)
    // The pair's gaps stay under `p`, so no node above changes.
    _leaves[Int(a)].maxGap = _computedMaxGap(ofLeaf: a)
    _leaves[Int(b)].maxGap = _computedMaxGap(ofLeaf: b)
    _childKeys[bSlot] = _keys[bBase]
  }

  /// Deletes leaf `x`, which holds no element and which nothing refers to,
  /// by moving the last leaf into its place.
  @inlinable
  internal mutating func _freeLeaf(_ x: Int32) {
    let last = Int32(_leaves.count - 1)
    if x != last {
      _moveSlots(
        from: Int(last) * Self._leafCapacity, to: Int(x) * Self._leafCapacity,
        count: Self._leafCapacity)
      let header = _leaves[Int(last)]
      _leaves[Int(x)] = header
      if header.previous != _none { _leaves[Int(header.previous)].next = x }
      if header.next != _none { _leaves[Int(header.next)].previous = x }
      if header.parent == _none {
        _root = x
      } else {
        _children[_childSlot(of: last, in: header.parent)] = x
      }
      if _finger == last { _finger = x }
    }
    let slots = Self._leafCapacity
    _keys.removeLast(slots)
    _gaps.removeLast(slots)
    _elements.removeLast(slots)
    _leaves.removeLast()
  }
}

// MARK: - Inner node changes

extension AddressTree {
  /// Appends an inner node of `level` with no children under `parent`;
  /// returns it.
  @inlinable
  internal mutating func _newInner(level: Int32, parent: Int32) -> Int32 {
    let p = Int32(_inners.count)
    _childKeys.append(contentsOf: repeatElement(0, count: Self._innerCapacity))
    _children.append(contentsOf: repeatElement(_none, count: Self._innerCapacity))
    _inners.append(_InnerHeader(level: level, parent: parent))
    return p
  }

  /// The child slot of `child` in its parent `p`.
  @inlinable
  internal func _childSlot(of child: Int32, in p: Int32) -> Int {
    let base = Int(p) * Self._innerCapacity
    var slot = base
    while _children[slot] != child { slot += 1 }
    precondition(slot < base + Int(_inners[Int(p)].count), "AddressTree: child not under its parent")
    return slot
  }

  /// The least key under `node` of `level`.
  @inlinable
  internal func _leastKey(of node: Int32, level: Int) -> UInt64 {
    level == 0 ? _keys[Int(node) * Self._leafCapacity] : _childKeys[Int(node) * Self._innerCapacity]
  }

  @inlinable
  internal mutating func _setParent(of node: Int32, level: Int, to p: Int32) {
    if level == 0 { _leaves[Int(node)].parent = p } else { _inners[Int(node)].parent = p }
  }

  /// Moves `count` child slots from `source` to `target`, which may
  /// overlap, and makes `p` the parent of the children moved (their level is
  /// `level`).
  @inlinable
  internal mutating func _moveChildren(
    from source: Int, to target: Int, count: Int, into p: Int32, level: Int
  ) {
    if count == 0 { return }
    if target < source {
      for j in 0 ..< count {
        _childKeys[target + j] = _childKeys[source + j]
        _children[target + j] = _children[source + j]
      }
    } else {
      for j in (0 ..< count).reversed() {
        _childKeys[target + j] = _childKeys[source + j]
        _children[target + j] = _children[source + j]
      }
    }
    for j in 0 ..< count { _setParent(of: _children[target + j], level: level, to: p) }
  }

  /// Links `node` (of `level`), whose subtree holds the elements right after
  /// those of its sibling `sibling`, into the parent of `sibling`, splitting
  /// the parent if it is full, or making a new root.
  @inlinable
  internal mutating func _insertChild(_ node: Int32, after sibling: Int32, level: Int) {
    let key = _leastKey(of: node, level: level)
    let p = level == 0 ? _leaves[Int(sibling)].parent : _inners[Int(sibling)].parent
    if p == _none {
      // `sibling` was the root: the tree grows a level.
      let root = _newInner(level: Int32(level + 1), parent: _none)
      let base = Int(root) * Self._innerCapacity
      _childKeys[base] = _leastKey(of: sibling, level: level)
      _children[base] = sibling
      _childKeys[base + 1] = key
      _children[base + 1] = node
      _inners[Int(root)].count = 2
      _setParent(of: sibling, level: level, to: root)
      _setParent(of: node, level: level, to: root)
      _inners[Int(root)].maxGap = _computedMaxGap(ofInner: root)
      _root = root
      _height = level + 1
      return
    }
    var target = p
    var slot = _childSlot(of: sibling, in: p) + 1
    if Int(_inners[Int(p)].count) == Self._innerCapacity {
      // Split `p`: its upper half goes to a new node after it.
      let q = _newInner(level: Int32(level + 1), parent: _inners[Int(p)].parent)
      let half = Self._innerCapacity / 2
      let pBase = Int(p) * Self._innerCapacity
      _moveChildren(
        from: pBase + half, to: Int(q) * Self._innerCapacity, count: Self._innerCapacity - half,
        into: q, level: level)
      _inners[Int(p)].count = Int32(half)
      _inners[Int(q)].count = Int32(Self._innerCapacity - half)
      // As with leaves, a child after the left half never lands in slot 0.
      if slot > pBase + half {
        target = q
        slot = Int(q) * Self._innerCapacity + (slot - pBase - half)
      }
      _placeChild(node, key: key, at: slot, in: target, level: level)
      _inners[Int(p)].maxGap = _computedMaxGap(ofInner: p)
      _inners[Int(q)].maxGap = _computedMaxGap(ofInner: q)
      _insertChild(q, after: p, level: level + 1)
      return
    }
    _placeChild(node, key: key, at: slot, in: target, level: level)
  }

  /// Puts `node` with its least key `key` at child slot `slot` of `p`,
  /// which has room, shifting the later children up.
  @inlinable
  internal mutating func _placeChild(_ node: Int32, key: UInt64, at slot: Int, in p: Int32, level: Int) {
    let end = Int(p) * Self._innerCapacity + Int(_inners[Int(p)].count)
    _moveChildren(from: slot, to: slot + 1, count: end - slot, into: p, level: level)
    _childKeys[slot] = key
    _children[slot] = node
    _inners[Int(p)].count += 1
    _setParent(of: node, level: level, to: p)
  }

  /// Removes child slot `slot` of `p`, shifting the later children down.
  @inlinable
  internal mutating func _removeChild(at slot: Int, from p: Int32) {
    let end = Int(p) * Self._innerCapacity + Int(_inners[Int(p)].count)
    _moveChildren(
      from: slot + 1, to: slot, count: end - slot - 1, into: p, level: Int(_inners[Int(p)].level) - 1)
    _inners[Int(p)].count -= 1
  }

  /// Restores the fill of inner node `p` after it lost a child: a root with
  /// one child gives way to it; another node below half full is refilled
  /// from a sibling, as `_rebalanceLeaf` does for leaves.
  @inlinable
  internal mutating func _rebalanceInnerIfNeeded(_ p: Int32) {
    let header = _inners[Int(p)]
    let childLevel = Int(header.level) - 1
    if header.parent == _none {
      if header.count > 1 { return }
      let child = _children[Int(p) * Self._innerCapacity]
      _setParent(of: child, level: childLevel, to: _none)
      _root = child
      _height = childLevel
      _inners[Int(p)].count = 0
      _freeInner(p)
      return
    }
    if Int(header.count) >= Self._innerCapacity / 2 { return }
    let pp = header.parent
    let slot = _childSlot(of: p, in: pp)
    let first = slot == Int(pp) * Self._innerCapacity
    let a = first ? p : _children[slot - 1]
    let b = first ? _children[slot + 1] : p
    let bSlot = first ? slot + 1 : slot
    let na = Int(_inners[Int(a)].count)
    let nb = Int(_inners[Int(b)].count)
    let aBase = Int(a) * Self._innerCapacity
    let bBase = Int(b) * Self._innerCapacity
    if na + nb < Self._innerCapacity {
      _moveChildren(from: bBase, to: aBase + na, count: nb, into: a, level: childLevel)
      _inners[Int(a)].count = Int32(na + nb)
      _inners[Int(b)].count = 0
      _inners[Int(a)].maxGap = max(_inners[Int(a)].maxGap, _inners[Int(b)].maxGap)
      _removeChild(at: bSlot, from: pp)
      // Deleting `b` moves the last inner node into its place, and that
      // may be `pp`.
      let last = Int32(_inners.count - 1)
      _freeInner(b)
      _rebalanceInnerIfNeeded(pp == last ? b : pp)
      return
    }
    let target = (na + nb) / 2
    if na < target {
      let k = target - na
      _moveChildren(from: bBase, to: aBase + na, count: k, into: a, level: childLevel)
      _moveChildren(from: bBase + k, to: bBase, count: nb - k, into: b, level: childLevel)
    } else {
      let k = na - target
      _moveChildren(from: bBase, to: bBase + k, count: nb, into: b, level: childLevel)
      _moveChildren(from: aBase + target, to: bBase, count: k, into: b, level: childLevel)
    }
    _inners[Int(a)].count = Int32(target)
    _inners[Int(b)].count = Int32(na + nb - target)
    _inners[Int(a)].maxGap = _computedMaxGap(ofInner: a)
    _inners[Int(b)].maxGap = _computedMaxGap(ofInner: b)
    _childKeys[bSlot] = _childKeys[bBase]
  }

  /// Deletes inner node `x`, which has no children and which nothing refers
  /// to, by moving the last inner node into its place.
  @inlinable
  internal mutating func _freeInner(_ x: Int32) {
    let last = Int32(_inners.count - 1)
    if x != last {
      let header = _inners[Int(last)]
      _inners[Int(x)] = header
      _moveChildren(
        from: Int(last) * Self._innerCapacity, to: Int(x) * Self._innerCapacity,
        count: Int(header.count), into: x, level: Int(header.level) - 1)
      if header.parent == _none {
        _root = x
      } else {
        _children[_childSlot(of: last, in: header.parent)] = x
      }
    }
    _childKeys.removeLast(Self._innerCapacity)
    _children.removeLast(Self._innerCapacity)
    _inners.removeLast()
  }
}

// MARK: - Invariants

extension AddressTree {
  /// Verifies every invariant of the tree, stopping with a precondition
  /// failure at the first violation: every leaf at the same depth; node
  /// fill (at least half full but for the root, a root inner node with two
  /// children or more); parent links and levels; the leaf chain in address
  /// order; strictly increasing keys equal to the elements' starts,
  /// non-empty disjoint elements, unused slots holding no element; each
  /// child key equal to the least key under the child; the cached gaps and
  /// largest gaps; the finger; and that exactly the stored nodes and
  /// `count` elements are reachable from the root.
  ///
  /// - Complexity: O(*n*)
  public func _checkInvariants() {
    let leafSlots = _leaves.count * Self._leafCapacity
    precondition(
      _keys.count == leafSlots && _gaps.count == leafSlots && _elements.count == leafSlots
        && _childKeys.count == _inners.count * Self._innerCapacity
        && _children.count == _inners.count * Self._innerCapacity,
      "AddressTree: storage sizes disagree")
    if _root == _none {
      precondition(
        _count == 0 && _leaves.isEmpty && _inners.isEmpty && _height == 0 && _finger == _none,
        "AddressTree: empty tree with nodes")
      return
    }
    precondition(_finger >= 0 && Int(_finger) < _leaves.count, "AddressTree: bad finger")
    var walk = _Walk()
    _ = _checkNode(_root, level: _height, parent: _none, &walk)
    precondition(walk.leaves == _leaves.count, "AddressTree: unreachable leaves")
    precondition(walk.inners == _inners.count, "AddressTree: unreachable inner nodes")
    precondition(walk.elements == _count, "AddressTree: wrong count")
    precondition(_leaves[Int(walk.previousLeaf)].next == _none, "AddressTree: chain runs past the last leaf")
  }

  /// The state of an in-order walk of the tree by `_checkInvariants`.
  internal struct _Walk {
    var leaves = 0
    var inners = 0
    var elements = 0
    /// The last leaf visited, or `_none`.
    var previousLeaf = _none
    /// The end of the last element visited, or `nil`.
    var previousEnd: UInt64? = nil
  }

  /// Checks the subtree at `node` of `level` under `parent`, whose elements
  /// follow those already walked; returns its least key and largest gap.
  internal func _checkNode(
    _ node: Int32, level: Int, parent: Int32, _ walk: inout _Walk
  ) -> (leastKey: UInt64, maxGap: UInt64) {
    if level == 0 {
      precondition(node >= 0 && Int(node) < _leaves.count, "AddressTree: bad leaf index")
      walk.leaves += 1
      precondition(walk.leaves <= _leaves.count, "AddressTree: leaf reached twice")
      let header = _leaves[Int(node)]
      let count = Int(header.count)
      let least = parent == _none ? 1 : Self._leafCapacity / 2
      precondition(count >= least && count <= Self._leafCapacity, "AddressTree: leaf fill out of bounds")
      precondition(header.parent == parent, "AddressTree: wrong leaf parent")
      precondition(header.previous == walk.previousLeaf, "AddressTree: wrong previous leaf")
      if walk.previousLeaf != _none {
        precondition(_leaves[Int(walk.previousLeaf)].next == node, "AddressTree: wrong next leaf")
      }
      walk.previousLeaf = node
      let base = Int(node) * Self._leafCapacity
      var maxGap: UInt64 = 0
      for slot in base ..< base + count {
        _checkSlot(slot, previousEnd: walk.previousEnd)
        walk.previousEnd = _elements[slot]!.end
        maxGap = max(maxGap, _gaps[slot])
      }
      for slot in base + count ..< base + Self._leafCapacity {
        precondition(_elements[slot] == nil, "AddressTree: element in an unused slot")
      }
      walk.elements += count
      precondition(header.maxGap == maxGap, "AddressTree: wrong leaf gap")
      return (_keys[base], maxGap)
    }
    precondition(node >= 0 && Int(node) < _inners.count, "AddressTree: bad inner node index")
    walk.inners += 1
    precondition(walk.inners <= _inners.count, "AddressTree: inner node reached twice")
    let header = _inners[Int(node)]
    let count = Int(header.count)
    let least = parent == _none ? 2 : Self._innerCapacity / 2
    precondition(count >= least && count <= Self._innerCapacity, "AddressTree: inner fill out of bounds")
    precondition(header.parent == parent, "AddressTree: wrong inner parent")
    precondition(Int(header.level) == level, "AddressTree: wrong level (leaves at different depths?)")
    let base = Int(node) * Self._innerCapacity
    var maxGap: UInt64 = 0
    for slot in base ..< base + count {
      let child = _checkNode(_children[slot], level: level - 1, parent: node, &walk)
      precondition(_childKeys[slot] == child.leastKey, "AddressTree: child key is not the child's least key")
      maxGap = max(maxGap, child.maxGap)
    }
    precondition(header.maxGap == maxGap, "AddressTree: wrong subtree gap")
    return (_childKeys[base], maxGap)
  }

  /// Checks slot `slot`, which is in use, against the end of the element
  /// before it (`nil` if it is the first).
  internal func _checkSlot(_ slot: Int, previousEnd: UInt64?) {
    guard let element = _elements[slot] else { preconditionFailure("AddressTree: no element in a used slot") }
    let start = element.start
    precondition(_keys[slot] == start, "AddressTree: key differs from start")
    precondition(element.end > start, "AddressTree: empty element")
    precondition((previousEnd ?? 0) <= start, "AddressTree: elements out of order or overlapping")
    precondition(_gaps[slot] == start - (previousEnd ?? 0), "AddressTree: stale gap (missing endDidChange?)")
  }

  #if DEBUG
  /// Verifies the tree after a mutation at `key`: all of it while it has at
  /// most 2048 elements; beyond that, so that debug builds stay usable, in
  /// O(log *n*) the nodes on the path to `key`'s leaf (fill, levels, parent
  /// links, child keys, largest gaps), that leaf's fill and slots, the slot
  /// after it, and the finger.
  @usableFromInline
  internal func _checkAfterMutation(at key: UInt64) {
    if count <= 2048 {
      _checkInvariants()
      return
    }
    precondition(_finger >= 0 && Int(_finger) < _leaves.count, "AddressTree: bad finger")
    var node = _root
    var parent = _none
    for level in stride(from: _height, to: 0, by: -1) {
      let header = _inners[Int(node)]
      let count = Int(header.count)
      precondition(
        Int(header.level) == level && header.parent == parent
          && count >= (parent == _none ? 2 : Self._innerCapacity / 2) && count <= Self._innerCapacity,
        "AddressTree: bad inner node on the path")
      let base = Int(node) * Self._innerCapacity
      var maxGap: UInt64 = 0
      for slot in base ..< base + count {
        let child = _children[slot]
        precondition(_childKeys[slot] == _leastKey(of: child, level: level - 1), "AddressTree: stale child key")
        precondition(slot == base || _childKeys[slot - 1] < _childKeys[slot], "AddressTree: child keys out of order")
        maxGap = max(maxGap, _maxGap(of: child, level: level - 1))
      }
      precondition(header.maxGap == maxGap, "AddressTree: wrong subtree gap")
      parent = node
      let i = _childKeys.withUnsafeBufferPointer { _countAtMost(key, in: $0, base, count) }
      node = _children[base + max(i, 1) - 1]
    }
    let header = _leaves[Int(node)]
    precondition(header.parent == parent, "AddressTree: wrong leaf parent")
    precondition(
      Int(header.count) >= Self._leafCapacity / 2 && Int(header.count) <= Self._leafCapacity,
      "AddressTree: leaf fill out of bounds")
    let base = Int(node) * Self._leafCapacity
    var previousEnd = _element(at: _position(before: 0, in: node))?.end
    var maxGap: UInt64 = 0
    for slot in base ..< base + Int(header.count) {
      _checkSlot(slot, previousEnd: previousEnd)
      previousEnd = _elements[slot]!.end
      maxGap = max(maxGap, _gaps[slot])
    }
    precondition(header.maxGap == maxGap, "AddressTree: wrong leaf gap")
    if let next = _position(atOrAfter: Int(header.count), in: node) {
      _checkSlot(next.slot, previousEnd: previousEnd)
    }
  }
  #endif
}
