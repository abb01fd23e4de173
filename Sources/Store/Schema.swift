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
/// Version 2 (`v2-splits-vocab`):
/// - `splits(id, name, kind, folds, seed, params_json, examples, created_at)`: kind ∈ ratio, kfold;
///   `folds` = K for kfold (0 for ratio); `params_json` = everything that made the split.
/// - `split_assignments(split_id, example_id, part, fold)`: part ∈ train, dev, test; unique
///   (split_id, example_id). A rowid table with a unique index rather than a WITHOUT ROWID
///   table: writing a million assignments is ~1.7x faster that way (measured), and splits
///   are written whole and read whole.
///   Ratio split: `fold` is NULL. K-fold split: held-out examples have part `test`, fold NULL;
///   every other example has part `train` and a fold 0…K-1 — in fold k it is in dev when
///   `fold = k` and in train otherwise.
/// - `vocabularies(id, name, split_id, fold, params_json, size, id_width, created_at)`:
///   built from the training part of (split, fold); split_id NULL = built with `--all`.
///   `id_width` (2 or 4) is the byte width of the ids in `encoded.ids`.
/// - `vocab_entries(vocab_id, kind, id, token, count)`: kind ∈ token, char; ids dense from 0;
///   `count` = frequency in the training part (0 for special tokens).
/// - `vocab_labels(vocab_id, task_id, label_id, count)`: per task, each label's count in the
///   training part (label ids are `labels.id`; a label unseen in training has count 0).
/// - `encoded(vocab_id, example_id, ids)`: every example's token ids, little-endian unsigned
///   16-bit (`id_width` 2) or signed 32-bit (4) integers, one per token of `examples.tokens`.
/// - `token_types(id, token)`: every distinct normalized token of the store, ids dense from 0,
///   and `token_type_chunks(first_example_id, example_ids, ends, ids)`: the examples' tokens as
///   token-type ids, in chunks of up to 4096 consecutive examples — `example_ids` int64 LE
///   (ascending), `ends` uint32 LE per example (its end, in tokens, within `ids`), `ids`
///   uint32 LE. A derived index built and extended by `mtl-prep vocab` (it covers every
///   example up to the last chunk's last id) and dropped whole when a source is deleted.
///   Counting a training part reads it instead of the examples' text and offsets.
/// - `embeddings(vocab_id, name, dim, matrix, found, folded, params_json, created_at)`:
///   `matrix` = float32 little-endian [size × dim], row i = token id i.
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
        m.register("v2-splits-vocab") { db in try db.execute(v2) }
        m.register("v3-compact-tokens") { db in try db.execute(v3) }
        m.register("v4-source-id-ranges") { db in try db.execute(v4) }
        m.register("v5-text-slice-tokens") { db in try db.execute(v5) }
        m.register("v6-seq2seq-targets") { db in try db.execute(v6) }
        m.register("v7-span-alignments") { db in try db.execute(v7) }
        return m
    }()

    /// The schema version this program writes (`PRAGMA user_version`).
    public static var version: Int { migrator.migrations.count }

    static let v2 = """
        CREATE TABLE splits(
          id          INTEGER PRIMARY KEY,
          name        TEXT NOT NULL UNIQUE,
          kind        TEXT NOT NULL CHECK (kind IN ('ratio','kfold')),
          folds       INTEGER NOT NULL DEFAULT 0,
          seed        INTEGER NOT NULL,
          params_json TEXT NOT NULL,
          examples    INTEGER NOT NULL,
          created_at  TEXT NOT NULL
        );

        CREATE TABLE split_assignments(
          split_id   INTEGER NOT NULL REFERENCES splits(id),
          example_id INTEGER NOT NULL REFERENCES examples(id),
          part       TEXT NOT NULL CHECK (part IN ('train','dev','test')),
          fold       INTEGER
        );
        CREATE UNIQUE INDEX split_assignments_by_example ON split_assignments(split_id, example_id);

        CREATE TABLE vocabularies(
          id          INTEGER PRIMARY KEY,
          name        TEXT NOT NULL UNIQUE,
          split_id    INTEGER REFERENCES splits(id),
          fold        INTEGER,
          params_json TEXT NOT NULL,
          size        INTEGER NOT NULL,
          id_width    INTEGER NOT NULL CHECK (id_width IN (2, 4)),
          created_at  TEXT NOT NULL
        );

        CREATE TABLE vocab_entries(
          vocab_id INTEGER NOT NULL REFERENCES vocabularies(id),
          kind     TEXT NOT NULL CHECK (kind IN ('token','char')),
          id       INTEGER NOT NULL,
          token    TEXT NOT NULL,
          count    INTEGER NOT NULL,
          PRIMARY KEY (vocab_id, kind, id)
        ) WITHOUT ROWID;

        CREATE TABLE vocab_labels(
          vocab_id INTEGER NOT NULL REFERENCES vocabularies(id),
          task_id  INTEGER NOT NULL REFERENCES tasks(id),
          label_id INTEGER NOT NULL,
          count    INTEGER NOT NULL,
          PRIMARY KEY (vocab_id, task_id, label_id)
        ) WITHOUT ROWID;

        CREATE TABLE encoded(
          vocab_id   INTEGER NOT NULL REFERENCES vocabularies(id),
          example_id INTEGER NOT NULL REFERENCES examples(id),
          ids        BLOB NOT NULL,
          PRIMARY KEY (vocab_id, example_id)
        ) WITHOUT ROWID;

        CREATE TABLE token_types(
          id    INTEGER PRIMARY KEY,
          token TEXT NOT NULL UNIQUE
        );

        CREATE TABLE token_type_chunks(
          first_example_id INTEGER PRIMARY KEY,
          example_ids      BLOB NOT NULL,
          ends             BLOB NOT NULL,
          ids              BLOB NOT NULL
        );

        CREATE TABLE embeddings(
          vocab_id    INTEGER NOT NULL REFERENCES vocabularies(id),
          name        TEXT NOT NULL,
          dim         INTEGER NOT NULL,
          matrix      BLOB NOT NULL,
          found       INTEGER NOT NULL,
          folded      INTEGER NOT NULL,
          params_json TEXT NOT NULL,
          created_at  TEXT NOT NULL,
          PRIMARY KEY (vocab_id, name)
        ) WITHOUT ROWID;
        """

    /// Version 3 (`v3-compact-tokens`): imports write `examples.tokens` in the compact layout 2
    /// of `TokenBlob` (narrow offsets, scalar offsets omitted for ASCII text); layout-1 blobs
    /// already stored stay valid (the first four bytes tell the layouts apart). No table
    /// changes: the version bump keeps programs that only read layout 1 away from such stores.
    static let v3 = """
        SELECT 1;
        """

    /// A source's examples are one id range (an import is one transaction that numbers its
    /// examples max(id) + 1, + 2, …), so the `examples_by_source` index — a second b-tree
    /// insert per imported example — gives way to the range and a count in `sources`.
    /// Deleting a source and reading its examples scan `id BETWEEN first AND last` (rowid
    /// range) and still test `source_id`, so the range is a bound, never trusted alone.
    static let v4 = """
        ALTER TABLE sources ADD COLUMN first_example_id INTEGER;
        ALTER TABLE sources ADD COLUMN last_example_id INTEGER;
        ALTER TABLE sources ADD COLUMN examples INTEGER NOT NULL DEFAULT 0;
        UPDATE sources SET
          first_example_id = (SELECT min(id) FROM examples WHERE source_id = sources.id),
          last_example_id  = (SELECT max(id) FROM examples WHERE source_id = sources.id),
          examples         = (SELECT count(*) FROM examples WHERE source_id = sources.id);
        DROP INDEX examples_by_source;
        """

    /// Version 5 (`v5-text-slice-tokens`): a layout-2 token blob may carry flags bit 1 — its
    /// tokens are slices of the example's text (normalization changed nothing), so the string
    /// area and its offsets are left out, and readers take token strings from `examples.text`.
    /// No table changes: the bump keeps programs that cannot read such blobs away.
    static let v5 = """
        SELECT 1;
        """

    /// Version 6 (`v6-seq2seq-targets`): the `seq2seq` and `regression` task kinds, and seq2seq targets.
    /// - `tasks.kind` may be `seq2seq` or `regression` (the table is rebuilt: SQLite cannot alter a CHECK).
    /// - `targets(example_id, task_id, text, tokens)`: the target text of a seq2seq annotation as
    ///   read, and its `TokenBlob` (offsets into `targets.text`, the target pipeline's tokens).
    ///   The annotation's value holds the same tokens as label ids (`labels` of the task are the
    ///   target's token types), so training reads only `annotations`.
    static let v6 = """
        CREATE TABLE tasks_v6(
          id         INTEGER PRIMARY KEY,
          name       TEXT NOT NULL UNIQUE,
          kind       TEXT NOT NULL CHECK (kind IN ('classification','multilabel','tagging','spans','seq2seq','regression')),
          tag_scheme TEXT CHECK (tag_scheme IN ('BIO','BIOES'))
        );
        INSERT INTO tasks_v6(id, name, kind, tag_scheme) SELECT id, name, kind, tag_scheme FROM tasks;
        DROP TABLE tasks;
        ALTER TABLE tasks_v6 RENAME TO tasks;

        CREATE TABLE targets(
          example_id INTEGER NOT NULL REFERENCES examples(id),
          task_id    INTEGER NOT NULL REFERENCES tasks(id),
          text       TEXT NOT NULL,
          tokens     BLOB NOT NULL,
          PRIMARY KEY (example_id, task_id)
        ) WITHOUT ROWID;
        """

    /// Version 7 (`v7-span-alignments`): `span_alignments(source_id, example_id, task_id, kind, start,
    /// end, label, stored_start, stored_end)`, one row per span an import did not store as written:
    /// kind ∈ expanded (widened to the tokens it touches; stored_* = their scalar range), dropped
    /// (`unaligned: drop`), overlapping, no_tokens, conflicting; start/end as read, in the task's unit.
    static let v7 = """
        CREATE TABLE span_alignments(
          source_id    INTEGER NOT NULL REFERENCES sources(id),
          example_id   INTEGER NOT NULL REFERENCES examples(id),
          task_id      INTEGER NOT NULL REFERENCES tasks(id),
          kind         TEXT NOT NULL CHECK (kind IN ('expanded','dropped','overlapping','no_tokens','conflicting')),
          start        INTEGER NOT NULL,
          "end"        INTEGER NOT NULL,
          label        TEXT NOT NULL,
          stored_start INTEGER,
          stored_end   INTEGER
        );
        CREATE INDEX span_alignments_by_source ON span_alignments(source_id);
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
