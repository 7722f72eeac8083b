"""What restyle reads off any HTTP answer, for every client it has (providers, storage, media)."""
