"""What every layer uses: errors, atomic files, folder checks, progress lines."""
