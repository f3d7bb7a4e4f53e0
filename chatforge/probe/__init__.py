"""The probe stage: find what the chat model does not know, and teach it to say so."""
