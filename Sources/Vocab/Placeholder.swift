enum VocabPlaceholder {}
