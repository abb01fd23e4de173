import Store

/// Joint label combinations of the stratified tasks, one 64-bit key per example.
enum Strata {
    static func compute(store: ExampleStore, tasks names: [String], keys: ExampleKeys) throws -> [UInt64] {
        var strata = [UInt64](repeating: 1, count: keys.count)
        guard !names.isEmpty else { return strata }
        let tasks = try store.tasks()
        let index = IDIndex(sortedIDs: keys.ids)
        var seen = Set<String>()
        for name in names {
            guard seen.insert(name).inserted else { continue }
            guard let task = tasks.first(where: { $0.name == name }) else {
                throw SplitError("unknown task '\(name)' for --stratify; the store has: \(tasks.map(\.name).joined(separator: ", "))")
            }
            guard task.kind == .classification || task.kind == .multilabel else {
                throw SplitError("--stratify \(name): a \(task.kind.rawValue) task has no per-example label to stratify on (use a classification or multilabel task)")
            }
            // Strata are keyed by label NAMES: label ids follow first-seen order, which depends
            // on import order, and a split must not.
            let labelHashes = try store.labels(taskID: task.id).map { UInt64(bitPattern: StableHash.fnv1a64($0.name)) }
            let missing: UInt64 = 0xFFFF_FFFF_FFFF_FFFF
            var value = [UInt64](repeating: missing, count: keys.count)
            var setHashes: [UInt64] = []
            try store.forEachAnnotationBlob(taskID: task.id) { id, blob in
                guard let i = index.index(of: id) else { return }
                setHashes.removeAll(keepingCapacity: true)
                for o in stride(from: 0, to: blob.count - 3, by: 4) {
                    let l = Int(Int32(littleEndian: blob.loadUnaligned(fromByteOffset: o, as: Int32.self)))
                    setHashes.append(l >= 0 && l < labelHashes.count ? labelHashes[l] : UInt64(l))
                }
                setHashes.sort()
                var h: UInt64 = 0x4C41_4245_4C53
                for x in setHashes { h = mix64(h, x) }
                value[i] = h
            }
            for i in 0..<strata.count { strata[i] = mix64(strata[i], value[i]) }
        }
        return strata
    }
}
