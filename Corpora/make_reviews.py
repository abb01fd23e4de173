#!/usr/bin/env python3
"""Writes reviews-large.csv from the reviews below (written for this repository, CC0).

Each block is one (language, topic, sentiment); ids and users are assigned here, deterministically:
English reviews go to users u01-u15, Chinese ones to u16-u30, drawn with a fixed seed, and the rows
are shuffled with that seed so that the file is not sorted by label.
Run from anywhere: python3 Corpora/make_reviews.py
"""
import csv, os, random

REVIEWS = {
("en", "phone", "pos"): """
Great phone, great battery, great price.
Good camera and a good screen. Recommended.
I love this phone; it is fast and light.
Really good phone for the money, highly recommended.
Excellent battery and a great camera.
Very happy with this phone.
The battery easily lasts two days, even with maps running.
Crisp screen, and the camera handles low light surprisingly well.
Fast, light, and the fingerprint reader never misses.
Switched from my old handset and the speed difference is huge.
Charging from zero to full takes under an hour. Love it.
Calls sound clear and the speaker is loud enough for the kitchen.
Great value for the price; it feels like a flagship.
The photos from the zoom lens are sharp, I use it every day.
Solid build, no lag, and the updates arrive on time.
My daughter dropped it twice and the glass is still perfect.
Small enough for one hand, which is exactly what I wanted.
Face unlock is quick and the display stays bright outdoors.
Honestly the best handset I have owned; setup took five minutes.
Good signal in the subway, where my previous phone had none.
The case in the box is a nice touch, and the battery is excellent.
Apps open instantly and games stay smooth for hours.
Not cheap, but worth every cent for the camera alone.
The night mode pictures look better than what my eyes see.
Wireless charging works well and it barely gets warm.
Clean software, no junk apps, and the vibration feels precise.
I wasn't sure about the curved screen, but now I love it.
Plenty of storage, and moving my contacts over was painless.
Five stars. Quick, quiet, reliable.
""",
("en", "phone", "neg"): """
Terrible phone, the battery is bad.
Bad camera and a poor screen. Disappointed.
I hate this phone; slow and heavy.
Poor battery, very disappointed with this phone.
Awful phone, do not buy it.
Broken charger and a bad speaker, terrible.
The battery drains by lunchtime even when I barely touch it.
The screen cracked after a short drop onto carpet.
It gets hot while charging and the apps start to stutter.
The camera smears every photo taken indoors.
Calls drop constantly and the microphone sounds muffled.
Too many preinstalled apps that cannot be removed.
The fingerprint sensor fails half the time with dry hands.
After the last update it restarts on its own several times a day.
Overpriced for a handset with such a dim display.
The speaker crackles at any volume above half.
Wi-Fi keeps disconnecting; support told me to reset it, twice.
Heavy and slippery, I have dropped it more than any phone before.
The charger in the box is slow and the cable is far too short.
The touch screen registers taps I never made.
Returned it after a week, the lag was unbearable.
Nice design, but the battery life is a joke.
Photos look fine on the phone and awful on a computer.
Storage filled up in a month and there is no card slot.
Face unlock does not work in the dark at all.
The buttons feel loose and rattle when I walk.
GPS loses my position every few minutes while driving.
Not worth the money; my old phone was faster.
""",
("en", "hotel", "pos"): """
Great hotel, clean room, friendly staff.
Good location and a good breakfast. Recommended.
I loved this hotel and the room was excellent.
Very comfortable room, great value.
Excellent stay, we will come back.
Clean, quiet and friendly. A good hotel.
The room was spotless and the bed was wonderfully soft.
Friendly staff at reception upgraded us to a sea view.
Breakfast had fresh fruit, good coffee and warm pastries.
Quiet street, thick curtains, I slept like a baby.
Ten minutes on foot from the station, perfect for a short trip.
The pool was clean and never crowded.
Check-in took two minutes and the concierge booked us a taxi.
Large bathroom with a proper shower and plenty of towels.
Would stay again; the price was fair for the location.
The rooftop bar has the best view of the old town.
They kept our luggage after checkout and even offered tea.
Housekeeping was discreet and the room smelled fresh every day.
Fast Wi-Fi in the room, handy for working in the evening.
A cosy little guesthouse run by a very kind family.
The gym was small but well equipped and open all night.
Our suite had a balcony over the harbour. Unforgettable.
Spotless lobby, polite porters, and a late checkout at no charge.
The mattress was firm, the pillows soft, the air conditioning silent.
A great stay for a business trip; the meeting room was free to use.
The staff remembered our names by the second morning.
""",
("en", "hotel", "neg"): """
Terrible hotel, dirty room, rude staff.
Bad location and a poor breakfast. Disappointed.
Awful room and a noisy night; avoid this hotel.
Poor service and a dirty bathroom.
Very disappointed with the room.
The room smelled of smoke and the sheets had stains.
Noisy all night, the walls are paper thin.
Reception lost our booking and we waited an hour.
The shower was lukewarm at best and the drain was blocked.
Breakfast was stale bread and watery coffee.
Far from everything, and the shuttle never came.
The air conditioning rattled and could not be turned off.
Tiny room, no window, and still charged full price.
We found a cockroach in the bathroom on the first night.
Wi-Fi only worked in the lobby, if at all.
The staff were rude when we asked for extra towels.
The pool was closed for repairs and nobody told us.
Hidden fees at checkout doubled the bill.
The elevator was broken, and our room was on the ninth floor.
The photos online are clearly from years ago.
Construction next door started at seven every morning.
The bed was so soft my back hurt for days.
The carpet was sticky and the curtains would not close.
Overbooked: they moved us to another hotel across town.
Nice lobby, but the rooms are worn out and dusty.
""",
("en", "book", "pos"): """
A great book, I loved every chapter.
Good story and good characters. Recommended.
Excellent book, beautifully written.
I really enjoyed this book.
Wonderful novel, highly recommended.
A gripping mystery; I guessed wrong until the last page.
The translation reads naturally and keeps the humour.
Lovely characters, and the ending made me cry.
Short chapters that pull you forward, perfect for the commute.
A clear, patient introduction to statistics without heavy maths.
The author's research shows on every page.
Funny, warm and surprisingly wise about growing up.
I bought a second copy for my brother.
Beautiful illustrations; my kids ask for it every night.
The dialogue is sharp and the pacing never slows.
A thoughtful history of the city, full of small details.
Finished it in a weekend and immediately started the sequel.
Well argued, and the notes at the back are excellent.
The poems are short, but they stay with you for days.
A cookbook that actually explains why recipes work.
I recommended it to my reading club and everyone loved it.
Clever plot twists, a believable villain, a satisfying ending.
The hardcover edition is sturdy and nicely printed.
A moving memoir, honest without being gloomy.
""",
("en", "book", "neg"): """
A terrible book, boring from the first chapter.
Bad story and dull characters. Disappointed.
Poorly written and far too long.
I did not enjoy this book at all.
Awful novel, a waste of money.
The plot wanders and nothing happens for two hundred pages.
Flat characters and dialogue that nobody would ever say.
Too many typos; the editing is careless.
The ending felt rushed, as if the author ran out of time.
Boring. I gave up halfway.
The translation is clumsy and the jokes are lost.
Pages fell out of the binding within a week.
A self-help book that repeats one idea for three hundred pages.
The sequel ruins everything the first volume built.
Dense jargon, no examples, hard to follow.
The mystery is obvious from the first chapter.
The print is tiny and the paper is almost transparent.
I expected history and got the author's opinions instead.
Predictable romance, cardboard hero, forgettable.
The e-book version has broken tables and missing images.
Slow start, slower middle, and an unsatisfying ending.
The recipes do not work; the quantities are wrong.
Not for children despite the cover, far too dark.
Overhyped; the blurbs promise far more than it delivers.
""",
("en", "restaurant", "pos"): """
Great food and friendly service.
Good dinner, tasty dishes. Recommended.
Excellent restaurant, I loved the food.
Delicious and cheap, we will be back.
The noodles were handmade and the broth was rich.
Friendly waiter, quick service, and generous portions.
The best dumplings in the neighbourhood, worth the queue.
Fresh fish, perfectly grilled, with a lemony sauce.
A cosy place with a short menu where every dish is good.
The dessert alone is worth the trip.
Reasonable prices, and the chef came out to say hello.
Spicy, fragrant curry; we ordered a second bowl.
Great brunch, the eggs were cooked just right.
Lovely terrace and a thoughtful wine list.
Vegetarian options that are more than an afterthought.
They found us a table at nine on a Saturday. Delicious food.
Crispy pizza crust and a tomato sauce that tastes of summer.
The lamb was tender and the bread came warm from the oven.
""",
("en", "restaurant", "neg"): """
Terrible food and slow service.
Bad dinner, the dishes were cold. Disappointed.
Awful restaurant, dirty and expensive.
We waited forty minutes for cold soup.
The steak was tough and far too salty.
Rude staff and a dirty table.
Tiny portions at big prices.
The rice was undercooked and the chicken was dry.
They charged us for drinks we never ordered.
Loud music, cramped seats, and a sticky floor.
Food poisoning the next day. Never again.
The menu promised fresh pasta; it came from a packet.
Our order was wrong twice and nobody apologised.
The fish smelled off and the chips were soggy.
Great location, but the kitchen clearly does not care.
We waited so long that we left before the main course.
""",
("zh", "phone", "pos"): """
手机很好，电池很好，价格也好。
拍照不错，屏幕也不错，推荐。
很喜欢这部手机，又快又轻。
这个价钱买到这么好的手机，强烈推荐。
电池非常好，拍照也很棒。
对这部手机很满意。
电池很耐用，充一次电能用两天。
屏幕清晰，夜间拍照效果出乎意料地好。
手机运行流畅，打游戏也不卡。
指纹解锁又快又准，非常方便。
充电速度很快，半小时就充了一大半。
外观漂亮，拿在手里手感很好。
通话声音清楚，信号比以前那部强多了。
性价比很高，这个价位找不到更好的了。
系统干净，没有乱七八糟的广告。
拍照色彩自然，发朋友圈不用修图。
摔了两次屏幕都没事，质量靠谱。
给爸妈买的，字大声音大，他们很喜欢。
快递第二天就到了，手机是正品，很满意。
待机时间长，出差一整天都不用带充电宝。
人脸识别很灵敏，戴眼镜也能认出来。
扬声器音质不错，看电影很过瘾。
用了三个月，依然像新的一样快。
重量刚好，单手操作很轻松。
无线充电很方便，发热也不明显。
内存够大，装了很多应用也不卡顿。
客服很耐心，帮我把旧手机的数据都迁移过来了。
第一次买这个牌子，没想到这么好用。
五星好评，推荐购买。
""",
("zh", "phone", "neg"): """
手机太差了，电池很差。
拍照不好，屏幕也差，很失望。
很讨厌这部手机，又慢又重。
电池太差，对这部手机非常失望。
垃圾手机，千万别买。
充电器坏了，喇叭也差，太糟糕了。
电池不耐用，中午就没电了。
手机发热严重，充电的时候烫手。
用了一周就开始卡顿，后悔买了。
屏幕一摔就碎，质量太差。
信号很差，在地铁里经常打不了电话。
预装软件太多，而且卸载不掉。
拍照模糊，室内光线一暗就全是噪点。
系统更新以后经常自动重启。
指纹识别时灵时不灵，很烦人。
价格太贵，配置却很一般。
扬声器有杂音，音量一大就破音。
收到的手机有划痕，明显是翻新机。
充电器充得特别慢，数据线也太短。
触屏经常失灵，打字总是按错。
客服态度冷淡，问题一直没有解决。
外观好看，可惜续航太差。
无线网络老是断开，重启也没用。
内存太小，装几个应用就满了。
晚上人脸识别根本用不了。
按键松动，走路的时候会响。
导航定位不准，开车时经常偏离路线。
不值这个价，还不如我以前的旧手机。
""",
("zh", "hotel", "pos"): """
酒店很好，房间干净，服务热情。
位置不错，早餐也不错，推荐。
很喜欢这家酒店，房间非常好。
房间很舒服，性价比很高。
住得非常满意，下次还来。
干净安静，服务好，是家好酒店。
房间干净整洁，床很舒服。
前台服务热情，还给我们免费升级了海景房。
早餐种类丰富，水果很新鲜。
位置很好，走路五分钟就到地铁站。
隔音效果不错，晚上睡得很安稳。
泳池干净，人也不多。
入住很快，礼宾还帮我们叫了出租车。
卫生间很大，热水充足，洗澡很舒服。
价格合理，下次出差还住这里。
顶楼的酒吧可以看到整个老城。
退房后可以寄存行李，服务很周到。
每天都打扫得很干净，房间里没有异味。
房间网速很快，晚上加班很方便。
民宿老板一家人特别热情，像回到家一样。
健身房虽然小，但设备齐全。
阳台正对着港口，风景太美了。
大堂干净明亮，还可以免费延迟退房。
床垫软硬适中，空调也很安静。
商务出行很方便，会议室可以免费使用。
服务员第二天就记住了我们的名字，很贴心。
""",
("zh", "hotel", "neg"): """
酒店太差，房间脏，服务员态度差。
位置不好，早餐也差，很失望。
房间很糟糕，晚上很吵，别住这家酒店。
服务差，卫生间也脏。
对房间非常失望。
房间有很重的烟味，床单上还有污渍。
隔音太差，整晚都能听到隔壁说话。
前台把我们的预订弄丢了，等了一个小时。
热水时有时无，下水道还堵了。
早餐很差，面包是硬的，咖啡像水一样。
位置太偏，接驳车一直没来。
空调噪音很大，还关不掉。
房间很小，没有窗户，价格却一点不便宜。
第一天晚上就在卫生间看到了蟑螂。
无线网络只有大堂能用。
要一条毛巾，服务员态度很差。
泳池在维修，入住前没有人告诉我们。
退房时多收了很多费用，太坑了。
电梯坏了，我们住在九楼，只能爬楼梯。
网上的照片和实际差别太大。
隔壁在施工，每天早上七点就开始吵。
床太软，睡得腰疼。
地毯很脏，窗帘也拉不上。
酒店超订，把我们安排到了很远的另一家。
大堂看着不错，房间却又旧又脏。
""",
("zh", "book", "pos"): """
很好的一本书，每一章都喜欢。
故事不错，人物也不错，推荐。
非常好的书，文字很美。
这本书我读得很开心。
很棒的小说，强烈推荐。
故事情节紧凑，一口气就读完了。
翻译流畅，读起来一点也不别扭。
人物写得很真实，结尾让我哭了。
章节很短，适合在地铁上看。
把统计学讲得通俗易懂，没有复杂的公式。
作者资料查得很扎实，细节经得起推敲。
幽默又温暖，写出了成长的烦恼。
纸张很好，印刷清楚，没有错别字。
插图很漂亮，孩子每天晚上都要听。
对话精彩，节奏一直很紧。
这本城市史写得细致，很多小故事很有意思。
周末就看完了，马上买了续集。
论证清楚，书后的注释也很有用。
诗都很短，却让人回味好几天。
这本菜谱讲清楚了每一步为什么这样做。
推荐给读书会，大家都说好看。
反转很多，结局让人满意。
精装版很结实，送人也有面子。
这本回忆录写得真诚，读完很感动。
""",
("zh", "book", "neg"): """
很差的一本书，第一章就很无聊。
故事不好，人物也没意思，很失望。
写得很差，而且太长了。
一点也不喜欢这本书。
很糟糕的小说，浪费钱。
情节拖沓，两百页都没什么进展。
人物单薄，对话很假。
错别字太多，编辑太不用心了。
结尾太仓促，好像作者赶着交稿。
太无聊了，看到一半就放弃了。
翻译生硬，很多笑话都看不懂。
装订很差，才一个星期就掉页了。
一本成功学的书，翻来覆去就一个道理。
续集把第一部建立的一切都毁了。
术语太多，没有例子，很难看懂。
悬念太明显，第一章就猜到了凶手。
字太小，纸也很薄，能透过去看到背面。
本来想看历史，结果全是作者的个人观点。
爱情故事俗套，主角很无趣。
电子版的表格乱了，图片也缺了。
开头慢，中间更慢，结尾也不好。
菜谱的用量不对，照着做根本做不成。
封面看着像童书，内容却太黑暗了，不适合孩子。
被吹得太厉害了，读完很失望。
""",
("zh", "restaurant", "pos"): """
菜很好吃，服务也热情。
晚饭不错，菜很香，推荐。
非常好的餐厅，很喜欢这里的菜。
好吃又便宜，我们还会再来。
面是手工做的，汤头很浓。
服务员很热情，上菜快，分量足。
附近最好吃的饺子，排队也值得。
鱼很新鲜，烤得刚刚好。
环境温馨，菜单不长，但每道菜都好吃。
甜点特别好吃，专门为它来一趟也值。
价格实惠，厨师还出来跟我们打招呼。
咖喱香辣可口，我们又加了一份。
早午餐很棒，鸡蛋火候正好。
露台很漂亮，酒单也很用心。
素菜做得很用心，不是随便应付。
周六晚上九点还给我们安排了座位，菜也很好吃。
披萨饼底酥脆，番茄酱很香。
羊肉很嫩，面包是刚出炉的。
""",
("zh", "restaurant", "neg"): """
菜太难吃，上菜也慢。
晚饭很差，菜都是凉的，很失望。
很糟糕的餐厅，又脏又贵。
等了四十分钟，端上来的汤是凉的。
牛排太老，还特别咸。
服务员态度差，桌子也脏。
分量很少，价格却很贵。
米饭没熟，鸡肉又干又柴。
账单上多了我们没点的饮料。
音乐太吵，座位挤，地板黏糊糊的。
吃完第二天就拉肚子，再也不来了。
说是新鲜意面，结果是袋装的。
上错了两次菜，也没人道歉。
鱼有异味，薯条也软塌塌的。
位置不错，可惜厨房根本不用心。
等太久了，主菜没上我们就走了。
""",
}

def main():
    rng = random.Random(17)
    rows = []
    for (lang, topic, sentiment), block in REVIEWS.items():
        for line in block.strip().splitlines():
            user = "u%02d" % (rng.randint(1, 15) + (0 if lang == "en" else 15))
            rows.append([line.strip(), topic, sentiment, user])
    texts = [r[0] for r in rows]
    assert len(set(texts)) == len(texts), "duplicate review"
    rng.shuffle(rows)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reviews-large.csv")
    with open(out, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "review", "topic", "sentiment", "user"])
        for i, r in enumerate(rows, 1):
            w.writerow(["r%03d" % i] + r)
    print(f"{out}: {len(rows)} reviews")

if __name__ == "__main__":
    main()
