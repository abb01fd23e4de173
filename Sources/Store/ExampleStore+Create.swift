import Foundation

extension ExampleStore {
    /// Creates the store at `path`, which must not exist, with `body` as its first contents:
    /// `body` fills a new store built under a temporary name beside `path`, and when it returns
    /// the file is synced and appears at `path` at once (a hard link, which never replaces a
    /// file that appeared there meanwhile). When `body` throws, or the process dies, `path`
    /// never exists; the next `create` removes what a dead process left.
    ///
    /// Why: in WAL mode every page of a bulk import is written twice (to the WAL, then by the
    /// checkpoint into the database) and synced twice. A store nobody can see yet needs neither
    /// the WAL (no readers to isolate) nor a durable journal (failure discards the file), so its
    /// first import writes each page once — roughly half the I/O of a new store's first import.
    /// The published store is an ordinary one: the next connection switches it to WAL.
    ///
    /// `body` must let go of the store (and every statement it prepared) before it returns.
    public static func create<T>(at path: String, _ body: (ExampleStore) throws -> T) throws -> T {
        let fm = FileManager.default
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        let prefix = ".\(url.lastPathComponent).creating-"
        removeAbandoned(in: directory, prefix: prefix)
        let temporary = url.deletingLastPathComponent().appendingPathComponent(prefix + "\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        guard !fm.fileExists(atPath: path) else {
            throw StoreError(kind: .misuse, message: "\(path) exists already; open it instead of creating it")
        }
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw StoreError(kind: .file, message: "\(path): cannot create the store: no directory \(directory)")
        }
        var published = false
        defer { if !published { try? fm.removeItem(atPath: temporary) } }
        let result: T
        do {
            let store = try ExampleStore(path: temporary, readOnly: false, unpublished: true)
            result = try body(store)
            // Published in WAL mode like every store (the switch is a header write; closing the
            // last connection removes the empty WAL again).
            try store.connection.execute("PRAGMA journal_mode=WAL")
            try store.connection.close()
        }
        try sync(temporary, what: "the new store")
        guard link(temporary, path) == 0 else {
            if errno == EEXIST {
                throw StoreError(kind: .createdMeanwhile, message: "\(path): cannot create the store: it appeared while the store was being built "
                                 + "(another process created it; nothing was written to it)")
            }
            throw StoreError(kind: .file, message: "\(path): cannot create the store: \(String(cString: strerror(errno)))")
        }
        published = true
        unlink(temporary)
        try sync(directory, what: "the directory holding the new store")
        return result
    }

    private static func sync(_ path: String, what: String) throws(StoreError) {
        let fd = open(path, O_RDONLY)
        guard fd >= 0, fsync(fd) == 0 else {
            let reason = String(cString: strerror(errno))
            if fd >= 0 { close(fd) }
            throw StoreError(kind: .file, message: "\(path): cannot sync \(what): \(reason)")
        }
        close(fd)
    }

    /// Removes temporary stores of processes that no longer run (`kill -9` during a create).
    private static func removeAbandoned(in directory: String, prefix: String) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return }
        for name in names where name.hasPrefix(prefix) {
            let owner = name.dropFirst(prefix.count).prefix { $0 != "-" }
            guard let pid = pid_t(owner), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(atPath: (directory as NSString).appendingPathComponent(name))
        }
    }
}
