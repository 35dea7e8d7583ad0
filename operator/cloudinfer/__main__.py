from cloudinfer.cli import main

raise SystemExit(main())
