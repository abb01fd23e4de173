/// The store's schema, as forward migrations. This is a public interface (see README):
/// never edit a migration once shipped; add a new one.
///
/// Version 1 (`v1-core`, this issue):
/// - `sources(id, path, format, content_sha256, mapping_json, pipeline_json, part, imported_at, records)`:
///   one row per imported file. `records` = records read (examples + rejects).
///   A source is "already imported" when `content_sha256`, `mapping_json` and `pipeline_json` all match.
/// - `examples(id, source_id, locator, text, tokens, norm_hash, group_key, part)`:
///   `tokens` is a `TokenBlob`, `norm_hash` a 64-bit hash of the normalized text
///   (`StableHash`), `part` a predefined split part (`train`/`test`/…) or NULL.
/// - `tasks(id, name, kind, tag_scheme)`; kind ∈ classification, multilabel, tagging, spans;
///   tag_scheme ∈ BIO, BIOES for tagging/spans tasks (NULL otherwise).
/// - `labels(task_id, id, name, count)`: dense ids 0…n-1 per task in first-seen order;
///   `count` = annotations using the label (per token for tagging/spans).
/// - `annotations(example_id, task_id, value)`: `value` is an `AnnotationValue` blob.
/// - `rejects(id, source_id, locator, reason)`: records skipped with `--on-error skip`.
///
/// Version 3 (`v3-compact-tokens`): token blobs may be in layout 2 (see `TokenBlob`).
///
/// Foreign keys are declared for documentation but not enforced (`PRAGMA foreign_keys`
/// stays off): enforcement costs a lookup per inserted row on the bulk path, and the only
/// deleting code (`ExampleStore.deleteSource`) removes dependent rows explicitly.
public enum StoreSchema {
    /// All migrations of the store, in order.
    public static let migrator: Migrator = {
        var m = Migrator()
        m.register("v1-core") { db in try db.execute(v1) }
        // v2-splits-vocab is registered by the vocab/split work
        m.register("v3-compact-tokens") { db in try db.execute(v3) }
        return m
    }()

    /// The schema version this program writes (`PRAGMA user_version`).
    public static var version: Int { migrator.migrations.count }

    /// Version 3 (`v3-compact-tokens`): imports write `examples.tokens` in the compact layout 2
    /// of `TokenBlob` (narrow offsets, scalar offsets omitted for ASCII text); layout-1 blobs
    /// already stored stay valid (the first four bytes tell the layouts apart). No table
    /// changes: the version bump keeps programs that only read layout 1 away from such stores.
    static let v3 = """
        SELECT 1;
        """

    static let v1 = """
        CREATE TABLE sources(
          id             INTEGER PRIMARY KEY,
          path           TEXT NOT NULL,
          format         TEXT NOT NULL,
          content_sha256 TEXT NOT NULL,
          mapping_json   TEXT NOT NULL DEFAULT '{}',
          pipeline_json  TEXT NOT NULL DEFAULT '{}',
          part           TEXT,
          imported_at    TEXT NOT NULL,
          records        INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX sources_by_content ON sources(content_sha256);
        CREATE INDEX sources_by_path ON sources(path);

        CREATE TABLE examples(
          id        INTEGER PRIMARY KEY,
          source_id INTEGER NOT NULL REFERENCES sources(id),
          locator   TEXT NOT NULL,
          text      TEXT NOT NULL,
          tokens    BLOB NOT NULL,
          norm_hash INTEGER NOT NULL,
          group_key TEXT,
          part      TEXT
        );
        CREATE INDEX examples_by_source ON examples(source_id);

        CREATE TABLE tasks(
          id         INTEGER PRIMARY KEY,
          name       TEXT NOT NULL UNIQUE,
          kind       TEXT NOT NULL CHECK (kind IN ('classification','multilabel','tagging','spans')),
          tag_scheme TEXT CHECK (tag_scheme IN ('BIO','BIOES'))
        );

        CREATE TABLE labels(
          task_id INTEGER NOT NULL REFERENCES tasks(id),
          id      INTEGER NOT NULL,
          name    TEXT NOT NULL,
          count   INTEGER NOT NULL DEFAULT 0,
          PRIMARY KEY (task_id, id),
          UNIQUE (task_id, name)
        ) WITHOUT ROWID;

        CREATE TABLE annotations(
          example_id INTEGER NOT NULL REFERENCES examples(id),
          task_id    INTEGER NOT NULL REFERENCES tasks(id),
          value      BLOB NOT NULL,
          PRIMARY KEY (example_id, task_id)
        ) WITHOUT ROWID;

        CREATE TABLE rejects(
          id        INTEGER PRIMARY KEY,
          source_id INTEGER NOT NULL REFERENCES sources(id),
          locator   TEXT NOT NULL,
          reason    TEXT NOT NULL
        );
        CREATE INDEX rejects_by_source ON rejects(source_id);
        """
}
