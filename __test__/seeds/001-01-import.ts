import { webSocket } from '@kit.NetworkKit';
