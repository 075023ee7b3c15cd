package endpoints

// Regenerate the packages under endpoints/ from the documents listed in
// endpoints/internal/shipped (add -faltest to first refresh the documents
// of faltest's demo apps in endpoints/testdata).
//go:generate go run ./internal/regen
