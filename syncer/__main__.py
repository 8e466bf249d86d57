from syncer.cli.main import main

main()
